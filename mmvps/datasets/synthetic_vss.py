"""Synthetic video *semantic* data in VSPW's on-disk layout, with hard frames.

The scenes of :mod:`mmvps.datasets.synthetic` (sky, ground, a brick wall, moving square / disc /
triangle), all six classes semantic, written like ``VSPW_480p``:
``data/<video>/origin/<frame>.jpg``, 8-bit ``data/<video>/mask/<frame>.png`` (raw = class + 1,
0 "others", 255 void), ``train.txt`` / ``val.txt`` and ``label_num_dic_final.json``, so
:class:`VSPWDataset`'s loader reads it (:class:`SyntheticVSSDataset` only swaps in the six
classes).

Clean frames are easy for a single-frame model, so the set is made for temporal models
(TCB, spec ``models/tcb.md`` §6): each frame is independently *hard* with probability
``hard_prob`` -- strong Gaussian noise, a blur along the fastest object's motion, or a contrast
drop -- with its ground truth unchanged; and the wall is painted in the ground's mean colour, so
wall and ground differ only by texture (bricks vs. a checkerboard), a cue a hard frame hides.
Which frames are hard, and how, is written to ``hard_frames.json``
(``{video: {frame name: kind}}``, every video listed) for the metric's frame subsets.
"""
import os

import numpy as np
from PIL import Image

from mmvps.registry import DATASETS
from .base_video_panoptic_dataset import panoptic_metainfo
from .formats import dump_json, write_vspw
from .synthetic import (SYNTHETIC_CATEGORIES, _check_tree_args, _make_things, _paint_frame,
                        _prepare_out_dir, _quantise, _Scene, _video_name,
                        _write_splits_and_ids)
from .vspw_dataset import VSPWDataset

# The synthetic classes with their official ids (raw mask value = id + 1), all semantic.
SYNTHETIC_VSS_CATEGORIES = tuple(dict(c, isthing=0) for c in SYNTHETIC_CATEGORIES)
HARD_FRAMES_FILE = 'hard_frames.json'
HARD_KINDS = ('noise', 'motion_blur', 'low_contrast')

_ID = {c['name']: c['id'] for c in SYNTHETIC_CATEGORIES}
# Mean brightness factors of the ground's checkerboard (half the squares at 0.78) and of the
# wall's bricks (mortar lines, 17/72 of the area, at 1.4): the wall is painted so that its mean
# colour equals the ground's.
_GROUND_MEAN_SHADE = (1.0 + 0.78) / 2
_WALL_MEAN_SHADE = 1.0 + 0.4 * 17 / 72
_RENDER_COLORS = {c['id']: c['color'] for c in SYNTHETIC_CATEGORIES}
_RENDER_COLORS[_ID['wall']] = tuple(
    v * _GROUND_MEAN_SHADE / _WALL_MEAN_SHADE for v in _RENDER_COLORS[_ID['ground']])


@DATASETS.register_module()
class SyntheticVSSDataset(VSPWDataset):
    """A tree written by :func:`generate_synthetic_vss`: VSPW's layout and loader with the six
    synthetic classes (labels = official ids: sky, ground, square, wall, disc, triangle)."""

    CATEGORIES = SYNTHETIC_VSS_CATEGORIES
    METAINFO = panoptic_metainfo(SYNTHETIC_VSS_CATEGORIES)


def synthetic_vss_metainfo() -> dict:
    """Metainfo of the synthetic semantic classes (``label2cat`` is the identity)."""
    metainfo = panoptic_metainfo(SYNTHETIC_VSS_CATEGORIES)
    metainfo['label2cat'] = [_ID[name] for name in metainfo['classes']]
    return metainfo


def _line_blur(image, direction, length):
    """Mean of ``length`` copies of ``image`` (H, W, 3) shifted along the unit vector
    ``direction`` (x, y), borders repeated: a linear motion blur."""
    half = length // 2
    pad = half + 1
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode='edge')
    height, width = image.shape[:2]
    out = np.zeros_like(image)
    for k in range(-half, half + 1):
        dx, dy = int(np.rint(k * direction[0])), int(np.rint(k * direction[1]))
        out += padded[pad + dy:pad + dy + height, pad + dx:pad + dx + width]
    return out / (2 * half + 1)


def degrade_frame(image, kind, rng, direction=(1.0, 0.0), noise_sigma=40.0, blur_length=9,
                  contrast=(0.2, 0.35)):
    """A hard version of a float RGB frame: ``'noise'`` adds Gaussian noise of ``noise_sigma``,
    ``'motion_blur'`` averages ``blur_length`` pixels along ``direction``, ``'low_contrast'``
    scales the deviation from the frame's mean colour by a factor drawn from ``contrast``."""
    if kind == 'noise':
        return image + rng.normal(0, noise_sigma, image.shape)
    if kind == 'motion_blur':
        return _line_blur(image, direction, blur_length)
    if kind == 'low_contrast':
        mean = image.mean(axis=(0, 1), keepdims=True)
        return mean + rng.uniform(*contrast) * (image - mean)
    raise ValueError(f'unknown hard-frame kind {kind!r}, expected one of {HARD_KINDS}')


def render_vss_video(seed, index, num_frames, height, width, hard_prob=0.3, noise_sigma=40.0):
    """Frames of video ``index`` of the tree of ``seed``: yields ``(offset, clean, image, cat,
    kind)`` per frame, ``offset`` the frame index from the video's first, ``clean`` / ``image``
    the uint8 frame without / with its degradation (equal when ``kind`` is None), ``cat`` the
    official ids (-1 void). Hard-frame draws use their own random stream, so ``clean`` (and
    ``cat``) do not depend on ``hard_prob``."""
    rng = np.random.default_rng([seed, index])
    hard_rng = np.random.default_rng([seed, index, 1])
    scene = _Scene(rng, height, width)
    things = _make_things(rng, num_frames, height, width, index % 2 == 0)
    fastest = max(things, key=lambda thing: np.hypot(*thing.velocity))
    direction = fastest.velocity / max(np.hypot(*fastest.velocity), 1e-9)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5  # pixel centres
    for t in range(num_frames):
        painted, cat, _ = _paint_frame(scene, things, t, rng, xx, yy, _RENDER_COLORS)
        hard = hard_rng.random() < hard_prob
        kind = HARD_KINDS[hard_rng.integers(len(HARD_KINDS))]  # drawn always: stream aligned
        clean = _quantise(painted)
        if not hard:
            yield t, clean, clean, cat, None
            continue
        image = _quantise(degrade_frame(painted, kind, hard_rng, direction, noise_sigma))
        yield t, clean, image, cat, kind


def generate_synthetic_vss(out_dir: str,
                           num_train_videos: int = 48,
                           num_val_videos: int = 8,
                           num_frames: int = 24,
                           height: int = 96,
                           width: int = 160,
                           seed: int = 0,
                           hard_prob: float = 0.3,
                           hard_noise_sigma: float = 40.0,
                           overwrite: bool = False) -> dict:
    """Write a synthetic VSPW-format dataset with hard frames to ``out_dir``; return its
    metainfo. The same arguments always give byte-identical files.

    Args:
        out_dir: root of the tree (``data/``, ``train.txt``, ``val.txt``,
            ``label_num_dic_final.json``, ``hard_frames.json``).
        num_train_videos, num_val_videos: videos listed in ``train.txt`` / ``val.txt``.
        num_frames: frames per video (8-digit names, contiguous from a random start, like VSPW).
        height, width: frame size in pixels.
        seed: random seed of the whole tree.
        hard_prob: probability that a frame is hard (i.i.d. per frame); 0 gives clean frames.
        hard_noise_sigma: standard deviation of the ``'noise'`` hard frames.
        overwrite: replace an earlier tree in ``out_dir``; without it a non-empty ``out_dir`` is
            an error.
    """
    _check_tree_args(out_dir, num_train_videos, num_val_videos, num_frames, height, width)
    if not 0 <= hard_prob <= 1:
        raise ValueError(f'{out_dir}: hard_prob must be in [0, 1], got {hard_prob}')
    if hard_noise_sigma < 0:
        raise ValueError(f'{out_dir}: hard_noise_sigma must be >= 0, got {hard_noise_sigma}')
    _prepare_out_dir(out_dir, overwrite, ('data', ))

    rng = np.random.default_rng(seed)
    names = [_video_name(index, rng) for index in range(num_train_videos + num_val_videos)]
    first_frames = rng.integers(0, 3000, len(names))
    hard_frames = {}
    for index, name in enumerate(names):
        video_dir = os.path.join(out_dir, 'data', name)
        os.makedirs(os.path.join(video_dir, 'origin'))
        hard_frames[name] = {}
        for t, _, image, cat, kind in render_vss_video(seed, index, num_frames, height, width,
                                                       hard_prob, hard_noise_sigma):
            frame = f'{first_frames[index] + t:08d}'
            Image.fromarray(image).save(os.path.join(video_dir, 'origin', f'{frame}.jpg'),
                                        quality=92)
            write_vspw(os.path.join(video_dir, 'mask', f'{frame}.png'), cat)
            if kind is not None:
                hard_frames[name][frame] = kind
    splits = dict(train=names[:num_train_videos], val=names[num_train_videos:])
    _write_splits_and_ids(out_dir, splits, SYNTHETIC_VSS_CATEGORIES)
    dump_json(os.path.join(out_dir, HARD_FRAMES_FILE), hard_frames)
    return synthetic_vss_metainfo()

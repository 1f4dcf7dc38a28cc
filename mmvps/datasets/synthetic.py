"""Synthetic video panoptic data in VIPSeg's raw on-disk format.

Small textured videos that a CPU model learns in minutes: stuff regions (sky, ground, wall) and
thing shapes (square, disc, triangle) that move smoothly, occlude each other and enter or leave
the frame, with track ids consistent within a video. The tree is laid out exactly like VIPSeg's
download (``imgs/<video>/<frame>.jpg``, 16-bit ``panomasks/<video>/<frame>.png``,
``train.txt`` / ``val.txt``, ``label_num_dic_final.json``, ``panoVIPSeg_categories.json``) so the
VIPSeg loader reads it with the synthetic class list, and JPEG/PNG tools open every file.
"""
import os
import shutil
from typing import List

import numpy as np
from PIL import Image

from mmvps.registry import DATASETS
from .base_video_panoptic_dataset import panoptic_metainfo
from .formats import dump_json, write_vipseg_raw
from .vipseg_dataset import VIPSegDataset

# Official category ids of the synthetic format (raw mask id = id + 1, as in VIPSeg). Stuff and
# things interleave like VIPSeg's list so the things-first training order is a real remap; no
# thing has raw id 2 because VIPSeg's raw value 200 is void.
SYNTHETIC_CATEGORIES = (
    dict(id=0, name='sky', isthing=0, color=(125, 175, 235)),
    dict(id=1, name='ground', isthing=0, color=(140, 100, 60)),
    dict(id=2, name='square', isthing=1, color=(220, 40, 40)),
    dict(id=3, name='wall', isthing=0, color=(150, 150, 150)),
    dict(id=4, name='disc', isthing=1, color=(40, 190, 70)),
    dict(id=5, name='triangle', isthing=1, color=(240, 200, 30)),
)
VOID_CATEGORY = -1
_CATEGORY_IDS = {category['name']: category['id'] for category in SYNTHETIC_CATEGORIES}
_VIDEO_NAME_CHARS = np.array(
    list('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'))
_FRAME_STEP = 3  # VIPSeg keeps every 3rd VSPW frame: names are absolute indices, step 3


def synthetic_metainfo() -> dict:
    """Metainfo of the synthetic classes in mmvps' label order (things first, then stuff),
    with ``label2cat`` (training label -> official id)."""
    metainfo = panoptic_metainfo(SYNTHETIC_CATEGORIES)
    metainfo['label2cat'] = [_CATEGORY_IDS[name] for name in metainfo['classes']]
    return metainfo


@DATASETS.register_module()
class SyntheticVPSDataset(VIPSegDataset):
    """A tree written by :func:`generate_synthetic_vps`: VIPSeg's raw layout (``ann_file`` =
    ``train.txt`` / ``val.txt``) with the synthetic classes."""

    CATEGORIES = SYNTHETIC_CATEGORIES
    METAINFO = panoptic_metainfo(SYNTHETIC_CATEGORIES)


class _Thing:
    """One tracked object: a textured shape moving along a straight line (optionally bouncing
    off the frame border), drawn at a fixed depth."""

    def __init__(self, name, track_id, size, start, velocity, depth, shade, bounce=False):
        self.name = name
        self.category = _CATEGORY_IDS[name]
        self.track_id = track_id
        self.size = size
        self.start = np.asarray(start, dtype=np.float64)
        self.velocity = np.asarray(velocity, dtype=np.float64)
        self.depth = depth
        self.shade = shade
        self.bounce = bounce

    def center(self, t, height, width):
        """(x, y) centre at frame ``t``."""
        x, y = self.start + self.velocity * t
        if self.bounce:
            half = self.size / 2
            x = _reflect(x, half, width - half)
            y = _reflect(y, half, height - half)
        return x, y


def _reflect(value, low, high):
    """Position of a point moving freely, folded back into ``[low, high]`` (bouncing)."""
    period = 2 * (high - low)
    offset = np.mod(value - low, period)
    return low + (period - offset if offset > high - low else offset)


def _shape_mask(name, cx, cy, size, xx, yy):
    half = size / 2
    if name == 'square':
        return (np.abs(xx - cx) <= half) & (np.abs(yy - cy) <= half)
    if name == 'disc':
        return (xx - cx)**2 + (yy - cy)**2 <= half**2
    # triangle: apex up, base of width ``size`` at the bottom
    top = cy - half
    return (yy >= top) & (yy <= cy + half) & (np.abs(xx - cx) <= (yy - top) / 2)


def _thing_texture(name, cx, cy, xx, yy):
    """Brightness factor of a thing's surface pattern, fixed to the object (moves with it)."""
    u, v = xx - cx, yy - cy
    if name == 'square':  # diagonal stripes
        return np.where(np.floor((u + v) / 4) % 2 == 0, 1.0, 0.7)
    if name == 'disc':  # concentric rings
        return np.where(np.floor(np.hypot(u, v) / 3) % 2 == 0, 1.0, 0.65)
    # triangle: dark dots on a grid
    return np.where((np.mod(u, 6) < 2.5) & (np.mod(v, 6) < 2.5), 0.6, 1.0)


class _Scene:
    """Stuff layout of one video: sky above a wavy horizon, ground below it, a brick wall
    standing on the ground; the camera pans horizontally at a constant speed."""

    def __init__(self, rng, height, width):
        self.height, self.width = height, width
        self.horizon = rng.uniform(0.4, 0.6) * height
        self.wave = rng.uniform(0.0, 0.06) * height
        self.wave_period = rng.uniform(0.5, 1.2) * width
        self.wave_phase = rng.uniform(0, 2 * np.pi)
        self.wall_left = rng.uniform(0.1, 0.55) * width
        self.wall_right = self.wall_left + rng.uniform(0.25, 0.4) * width
        self.wall_top = rng.uniform(0.12, 0.3) * height
        self.pan = rng.uniform(-1.0, 1.0)

    def render(self, t, xx, yy, colors=None):
        """Official category map (void -1) and the RGB image of the stuff at frame ``t``;
        ``colors`` (official id -> RGB) defaults to the categories' colours."""
        if colors is None:
            colors = {c['id']: c['color'] for c in SYNTHETIC_CATEGORIES}
        colors = {cat: np.asarray(color, np.float64) for cat, color in colors.items()}
        xw = xx + self.pan * t  # world coordinates: stuff textures move with the pan
        horizon = self.horizon + self.wave * np.sin(2 * np.pi * xw / self.wave_period +
                                                    self.wave_phase)
        cat = np.full(xx.shape, _CATEGORY_IDS['ground'], np.int64)
        sky = yy < horizon
        cat[sky] = _CATEGORY_IDS['sky']
        in_wall_rows = (yy >= self.wall_top) & (yy < horizon)
        wall = in_wall_rows & (xw >= self.wall_left) & (xw < self.wall_right)
        cat[wall] = _CATEGORY_IDS['wall']
        # annotators leave the wall outline unlabeled, as VIPSeg leaves thin void borders
        outline = in_wall_rows & ((np.abs(xw - self.wall_left) < 1) |
                                  (np.abs(xw - self.wall_right) < 1))
        cat[outline] = VOID_CATEGORY

        sky_shade = 0.8 + 0.25 * yy / self.height + 0.05 * np.sin(xw / 9 + yy / 3)
        ground_shade = np.where((np.floor(xw / 8) + np.floor(yy / 8)) % 2 == 0, 1.0, 0.78)
        row = np.floor(yy / 6)
        mortar = (np.mod(yy, 6) < 1) | (np.mod(xw + 6 * (row % 2), 12) < 1)
        wall_shade = np.where(mortar, 1.4, 1.0)
        shade = np.select([sky, wall], [sky_shade, wall_shade], ground_shade)
        base = np.where(sky[..., None], colors[_CATEGORY_IDS['sky']],
                        colors[_CATEGORY_IDS['ground']])
        base = np.where(wall[..., None], colors[_CATEGORY_IDS['wall']], base)
        return cat, base * shade[..., None]


def _make_things(rng, num_frames, height, width, entering) -> List[_Thing]:
    """Objects of one video: a pair crossing paths mid-video (the smaller one in front, so the
    larger one is partly occluded), one object entering (or leaving) through a side, and
    sometimes one bouncing inside the frame."""
    scale = min(height, width)
    speed_unit = width / 160
    names = [c['name'] for c in SYNTHETIC_CATEGORIES if c['isthing']]
    mid = (num_frames - 1) / 2

    meet = np.array([rng.uniform(0.3, 0.7) * width, rng.uniform(0.35, 0.7) * height])
    angle_front = rng.uniform(0, 2 * np.pi)
    angle_back = angle_front + rng.uniform(np.pi / 3, 5 * np.pi / 3)
    front_size, back_size = rng.uniform(0.2, 0.26) * scale, rng.uniform(0.3, 0.36) * scale
    specs = []
    for angle, size, depth, offset in ((angle_front, front_size, 2, 0.0),
                                       (angle_back, back_size, 1, 0.25 * front_size)):
        velocity = rng.uniform(1.5, 3.5) * speed_unit * np.array([np.cos(angle), np.sin(angle)])
        specs.append(dict(size=size, start=meet + offset - velocity * mid, velocity=velocity,
                          depth=depth, bounce=False))

    size = rng.uniform(0.22, 0.32) * scale
    speed = rng.uniform(4.0, 7.0) * speed_unit
    from_left = rng.random() < 0.5
    outside = -size / 2 - rng.uniform(0.5, 2.0) * speed  # centre fully outside on the left
    y = rng.uniform(0.35, 0.8) * height
    if entering:
        start_x, direction = outside, 1.0
    else:
        start_x, direction = outside + speed * (num_frames - 1), -1.0
    if not from_left:
        start_x, direction = width - start_x, -direction
    specs.append(dict(size=size, start=(start_x, y), velocity=(direction * speed, 0.0),
                      depth=3, bounce=False))

    if rng.random() < 0.5:
        size = rng.uniform(0.2, 0.3) * scale
        angle = rng.uniform(0, 2 * np.pi)
        specs.append(dict(
            size=size,
            start=(rng.uniform(size, width - size), rng.uniform(size, height - size)),
            velocity=rng.uniform(1.0, 3.0) * speed_unit * np.array([np.cos(angle), np.sin(angle)]),
            depth=0, bounce=True))

    things, next_track = [], {}
    for spec in specs:
        name = names[rng.integers(len(names))]
        next_track[name] = next_track.get(name, 0) + 1
        things.append(_Thing(name, next_track[name], shade=rng.uniform(0.85, 1.15), **spec))
    return things


def _paint_frame(scene, things, t, rng, xx, yy, colors=None):
    """Float RGB image (with sensor noise, not yet quantised) and official ``(cat, inst)`` maps
    of frame ``t``; ``colors`` as in :meth:`_Scene.render`."""
    cat, image = scene.render(t, xx, yy, colors)
    inst = np.zeros_like(cat)
    for thing in sorted(things, key=lambda thing: thing.depth):  # back to front
        cx, cy = thing.center(t, scene.height, scene.width)
        mask = _shape_mask(thing.name, cx, cy, thing.size, xx, yy)
        color = np.asarray(SYNTHETIC_CATEGORIES[thing.category]['color'], np.float64)
        texture = _thing_texture(thing.name, cx, cy, xx, yy) * thing.shade
        image[mask] = color * texture[mask][:, None]
        cat[mask] = thing.category
        inst[mask] = thing.track_id
    return image + rng.normal(0, 4, image.shape), cat, inst  # sensor noise


def _quantise(image):
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _render_frame(scene, things, t, rng, xx, yy):
    """RGB uint8 image and official ``(cat, inst)`` maps of frame ``t``."""
    image, cat, inst = _paint_frame(scene, things, t, rng, xx, yy)
    return _quantise(image), cat, inst


def _write_video(out_dir, name, rng, num_frames, height, width, entering):
    scene = _Scene(rng, height, width)
    things = _make_things(rng, num_frames, height, width, entering)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5  # pixel centres
    first = int(rng.integers(0, 3000))
    for t in range(num_frames):
        frame = f'{first + _FRAME_STEP * t:08d}'
        image, cat, inst = _render_frame(scene, things, t, rng, xx, yy)
        image_path = os.path.join(out_dir, 'imgs', name, f'{frame}.jpg')
        os.makedirs(os.path.dirname(image_path), exist_ok=True)
        Image.fromarray(image).save(image_path, quality=92)
        write_vipseg_raw(os.path.join(out_dir, 'panomasks', name, f'{frame}.png'), cat, inst)


def _video_name(index, rng):
    """VIPSeg-like name ``<number>_<11-character YouTube id>`` (ids may hold ``-`` and ``_``)."""
    return f'{index}_' + ''.join(rng.choice(_VIDEO_NAME_CHARS, 11))


def _check_tree_args(out_dir, num_train_videos, num_val_videos, num_frames, height, width):
    """The argument checks every synthetic generator shares; errors name ``out_dir``."""
    if num_train_videos < 0 or num_val_videos < 0 or num_train_videos + num_val_videos == 0:
        raise ValueError(f'{out_dir}: need at least one video, got {num_train_videos} train '
                         f'and {num_val_videos} val videos')
    if num_frames < 1:
        raise ValueError(f'{out_dir}: num_frames must be >= 1, got {num_frames}')
    if min(height, width) < 32:
        raise ValueError(f'{out_dir}: frames of {height}x{width} are too small (min side 32)')


def _prepare_out_dir(out_dir, overwrite, subdirs):
    """Create ``out_dir``; a non-empty one is an error unless ``overwrite``, which removes the
    ``subdirs`` of the earlier tree (the top-level files are rewritten)."""
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite:
            raise FileExistsError(f'{out_dir}: directory is not empty (pass overwrite=True to '
                                  'replace an earlier synthetic tree)')
        for sub in subdirs:
            shutil.rmtree(os.path.join(out_dir, sub), ignore_errors=True)
    os.makedirs(out_dir, exist_ok=True)


def _write_splits_and_ids(out_dir, splits, categories):
    """``<split>.txt`` (one video name a line) per split and VIPSeg / VSPW's
    ``label_num_dic_final.json`` (class name -> raw value = official id + 1, 0 "others")."""
    for split, videos in splits.items():
        with open(os.path.join(out_dir, f'{split}.txt'), 'w', encoding='utf-8') as f:
            f.writelines(f'{name}\n' for name in videos)
    raw_ids = {'others': '0'}
    raw_ids.update({c['name']: str(c['id'] + 1) for c in categories})
    dump_json(os.path.join(out_dir, 'label_num_dic_final.json'), raw_ids)


def generate_synthetic_vps(out_dir: str,
                           num_train_videos: int = 8,
                           num_val_videos: int = 4,
                           num_frames: int = 12,
                           height: int = 96,
                           width: int = 160,
                           seed: int = 0,
                           overwrite: bool = False) -> dict:
    """Write a synthetic VIPSeg-format dataset to ``out_dir`` and return its metainfo.

    The same arguments always give byte-identical files. Each video holds ``num_frames``
    frames named by 8-digit indices stepping by 3 from a random start, like VIPSeg.

    Args:
        out_dir: root of the tree (``imgs/``, ``panomasks/``, split lists, category files).
        num_train_videos, num_val_videos: videos listed in ``train.txt`` / ``val.txt``.
        num_frames: frames per video.
        height, width: frame size in pixels.
        seed: random seed of the whole tree.
        overwrite: replace the files of an earlier tree in ``out_dir``; without it a
            non-empty ``out_dir`` is an error.

    Returns:
        dict: :func:`synthetic_metainfo`, for ``metainfo=`` of the dataset.
    """
    _check_tree_args(out_dir, num_train_videos, num_val_videos, num_frames, height, width)
    _prepare_out_dir(out_dir, overwrite, ('imgs', 'panomasks'))

    rng = np.random.default_rng(seed)
    names = [_video_name(index, rng) for index in range(num_train_videos + num_val_videos)]
    splits = dict(train=names[:num_train_videos], val=names[num_train_videos:])
    for index, name in enumerate(names):
        video_rng = np.random.default_rng([seed, index])
        # every other video has an object entering, the others one leaving
        _write_video(out_dir, name, video_rng, num_frames, height, width, index % 2 == 0)
    _write_splits_and_ids(out_dir, splits, SYNTHETIC_CATEGORIES)
    dump_json(os.path.join(out_dir, 'panoVIPSeg_categories.json'),
              [dict(c, color=list(c['color'])) for c in SYNTHETIC_CATEGORIES])
    return synthetic_metainfo()

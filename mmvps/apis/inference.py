"""Video inference for every mmvps video model: online models (clips of one frame, e.g. Video
K-Net) and clip-level models (e.g. Video-kMaX near-online, clips of 2 overlapping by 1) alike.

The frames are streamed: a clip is predicted as soon as its last frame has been read, and the
results of its new (key) frames are yielded at once, in order. Only the frames of one clip and
the model's own clip / association state are held, never the whole video.
"""
import copy
import glob
import os
import os.path as osp
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple, Union

import cv2
import mmcv
import numpy as np
import torch
from mmdet.apis import init_track_model
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.registry import init_default_scope
from mmdet.structures import DetDataSample

from mmvps.datasets.transforms.frame_sampling import video_clip_starts
from mmvps.registry import DATASETS
from mmvps.structures import INSTANCE_OFFSET

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
FramesType = Union[str, Path, Iterable]


@dataclass
class FrameResult:
    """The prediction of one frame.

    Attributes:
        frame_id (int): 0-based position in the video.
        image (np.ndarray): the input frame, ``H x W x 3`` uint8 BGR (mmcv's order).
        panoptic (np.ndarray): ``H x W`` int64 map, ``label + track_id * 1000`` (stuff and
            track-less things: track 0; void: ``label == num_classes``).
        segments (list[dict]): one per non-void segment of ``panoptic``: ``id`` (its value in
            the map), ``label``, ``track_id`` (0 for stuff), ``is_thing``, ``area`` (pixels) and
            ``score`` (the tracked thing's score; None for stuff, whose score the models do not
            output).
        data_sample (DetDataSample): the model's output for the frame.
        source (str, optional): the frame's file, when it came from one.
    """
    frame_id: int
    image: np.ndarray
    panoptic: np.ndarray
    segments: List[dict] = field(default_factory=list)
    data_sample: Optional[DetDataSample] = None
    source: Optional[str] = None


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build a video model from its config, load ``checkpoint`` (random weights when None) and
    put it in eval mode on ``device`` (mmdet's ``init_track_model`` in the config's scope).

    The model gets ``cfg`` and ``dataset_meta`` (from the checkpoint, else from the config's
    test dataset class, whose ``METAINFO`` names the classes the model predicts).
    """
    if isinstance(config, (str, Path)):
        if not osp.isfile(config):
            raise FileNotFoundError(f'{config}: config file not found')
        config = Config.fromfile(str(config))
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a file name or a Config, got {type(config).__name__}')
    else:
        config = copy.deepcopy(config)
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'{checkpoint}: checkpoint file not found')
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    init_default_scope(config.get('default_scope', 'mmvps'))
    with warnings.catch_warnings():  # the meta missing from a checkpoint is filled below
        warnings.filterwarnings('ignore', message='dataset_meta or class names are missed')
        model = init_track_model(config, checkpoint, device=device)
    meta = getattr(model, 'dataset_meta', None) or {}
    if not meta.get('classes'):
        model.dataset_meta = _config_dataset_meta(config)
    return model


def _config_dataset_meta(cfg: Config) -> dict:
    """Metainfo of the config's test dataset (its class's ``METAINFO`` completed as when the
    dataset loads, with the config's ``metainfo`` override), without loading any data."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    dataset_cls = DATASETS.get(dataset.get('type')) if dataset.get('type') else None
    if dataset_cls is None:
        return dict(dataset.get('metainfo') or {})
    # the class's own completion of its metainfo (thing / stuff classes, palette, label2cat)
    return dataset_cls._load_metainfo(copy.deepcopy(dataset.get('metainfo')))


def _type_name(transform: dict) -> str:
    name = transform.get('type', '')
    return name.split('.')[-1] if isinstance(name, str) else getattr(name, '__name__', '')


def _test_pipeline_cfg(cfg: Config) -> list:
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    pipeline = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise ValueError('the config has no test pipeline (test_dataloader.dataset.pipeline)')
    return pipeline


def clip_settings(cfg: Config) -> Tuple[int, int]:
    """``(clip_length, clip_overlap)`` of the config's test pipeline: those of its
    ``VideoClipSample`` (clip-level models), else ``(1, 0)`` (online models)."""
    for transform in _test_pipeline_cfg(cfg):
        if _type_name(transform) == 'VideoClipSample':
            return int(transform.get('clip_length', 2)), int(transform.get('clip_overlap', 0))
    return 1, 0


def build_frame_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline for frames given as arrays: its frame sampler is left out
    (the clips are formed by :func:`inference_video`), and in its ``TransformBroadcaster`` the
    image loader becomes ``LoadImageFromNDArray`` and annotation loaders are dropped; every
    other transform (resize, normalisation settings, packing) is the config's own."""
    init_default_scope(cfg.get('default_scope', 'mmvps'))
    steps = []
    found = False
    for transform in _test_pipeline_cfg(cfg):
        transform = copy.deepcopy(transform)
        name = _type_name(transform)
        if name == 'TransformBroadcaster':
            frame_transforms = [t for t in transform['transforms']
                                if not _type_name(t).startswith('Load')]
            transform['transforms'] = [dict(type='LoadImageFromNDArray')] + frame_transforms
            found = True
        elif name.endswith('Sample') or name.startswith('Load'):
            continue  # frame samplers / loaders of the dataset path
        steps.append(transform)
    if not found:
        raise ValueError('the config\'s test pipeline has no TransformBroadcaster with the '
                         'frame transforms; video inference needs one')
    return Compose(steps)


def _list_image_files(pattern_or_dir: str) -> List[str]:
    if osp.isdir(pattern_or_dir):
        files = [osp.join(pattern_or_dir, f) for f in os.listdir(pattern_or_dir)
                 if f.lower().endswith(IMAGE_EXTENSIONS)]
        where = f'folder {pattern_or_dir}'
    else:
        files = [f for f in glob.glob(pattern_or_dir) if f.lower().endswith(IMAGE_EXTENSIONS)]
        where = f'pattern {pattern_or_dir}'
    files = sorted(f for f in files if osp.isfile(f))
    if not files:
        raise FileNotFoundError(f'{pattern_or_dir}: no image files ({", ".join(IMAGE_EXTENSIONS)}'
                                f') in {where}')
    return files


def count_frames(frames: FramesType) -> int:
    """Number of frames of a video file (from its header: may be approximate), folder or image
    pattern; 0 when unknown (an iterable, a missing path)."""
    if isinstance(frames, Path):
        frames = str(frames)
    if not isinstance(frames, str):
        return 0
    if osp.isdir(frames) or (not osp.exists(frames) and glob.has_magic(frames)):
        try:
            return len(_list_image_files(frames))
        except FileNotFoundError:
            return 0
    if osp.isfile(frames) and not frames.lower().endswith(IMAGE_EXTENSIONS):
        capture = cv2.VideoCapture(frames)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
        capture.release()
        return max(count, 0)
    return 1 if osp.isfile(frames) else 0


def _read_image(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f'{path}: unreadable image')
    return image


def _read_video(path: str) -> Iterator[Tuple[np.ndarray, str]]:
    reader = mmcv.VideoReader(path)
    if not reader.opened:
        raise ValueError(f'{path}: OpenCV cannot open this video (unreadable or not a video)')
    try:
        count = 0
        while True:
            image = reader.read()
            if image is None:
                break
            count += 1
            yield image, path
        if count == 0:
            raise ValueError(f'{path}: the video has no frames that OpenCV can decode')
    finally:
        reader.vcap.release()


def read_frames(frames: FramesType) -> Iterator[Tuple[np.ndarray, Optional[str]]]:
    """``(BGR uint8 image, source)`` of every frame, read lazily: ``frames`` is a video file
    (anything OpenCV decodes: mp4, avi, mov, mkv), a folder of images (sorted by name), a glob
    pattern of images, or an iterable of images (arrays ``H x W x 3`` BGR, or image paths)."""
    if isinstance(frames, Path):
        frames = str(frames)
    if isinstance(frames, str):
        if osp.isdir(frames) or (not osp.exists(frames) and glob.has_magic(frames)):
            for path in _list_image_files(frames):
                yield _read_image(path), path
        elif osp.isfile(frames):
            if frames.lower().endswith(IMAGE_EXTENSIONS):
                yield _read_image(frames), frames
            else:
                yield from _read_video(frames)
        else:
            raise FileNotFoundError(f'{frames}: no such video file, folder or image pattern')
        return
    if isinstance(frames, np.ndarray):
        raise TypeError('frames must be a path or an iterable of images; wrap a single image '
                        'in a list')
    for index, item in enumerate(frames):
        if isinstance(item, (str, Path)):
            yield _read_image(str(item)), str(item)
            continue
        image = np.asarray(item)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'frame {index}: expected an H x W x 3 image, got shape '
                             f'{image.shape}')
        if image.dtype != np.uint8:
            raise ValueError(f'frame {index}: expected a uint8 image, got {image.dtype}')
        yield image, None


def _segments(panoptic: np.ndarray, data_sample: DetDataSample, num_classes: int,
              num_things: Optional[int]) -> List[dict]:
    scores = {}
    instances = data_sample.get('pred_track_instances')
    if instances is not None and 'instances_id' in instances:
        for label, track_id, score in zip(instances.labels.tolist(),
                                          instances.instances_id.tolist(),
                                          instances.scores.tolist()):
            scores[(int(label), int(track_id))] = float(score)
    ids, areas = np.unique(panoptic, return_counts=True)
    segments = []
    for segment_id, area in zip(ids.tolist(), areas.tolist()):
        label, track_id = segment_id % INSTANCE_OFFSET, segment_id // INSTANCE_OFFSET
        if label >= num_classes:
            continue
        is_thing = track_id > 0 or (num_things is not None and label < num_things)
        segments.append(dict(id=segment_id, label=label, track_id=track_id, is_thing=is_thing,
                             area=area, score=scores.get((label, track_id))))
    return segments


def _frame_panoptic(frame: DetDataSample, num_classes: int, model) -> np.ndarray:
    """One frame's panoptic map (``label + track_id * INSTANCE_OFFSET``, void = ``num_classes``);
    a semantic model's ``pred_sem_seg`` is a map of stuff segments (track 0)."""
    if 'pred_panoptic_seg' in frame:
        return frame.pred_panoptic_seg.sem_seg[0].cpu().numpy().astype(np.int64)
    if 'pred_sem_seg' in frame:
        sem = frame.pred_sem_seg.sem_seg[0].cpu().numpy().astype(np.int64)
        sem[(sem < 0) | (sem >= num_classes)] = num_classes
        return sem
    raise ValueError(f'{type(model).__name__} wrote neither pred_panoptic_seg nor pred_sem_seg '
                     'for a frame')


def _num_classes(model) -> Tuple[int, Optional[int]]:
    meta = getattr(model, 'dataset_meta', None) or {}
    classes = meta.get('classes')
    things = meta.get('thing_classes')
    if not classes:
        raise ValueError('the model has no dataset_meta["classes"]; build it with init_model')
    return len(classes), (len(things) if things is not None else None)


@torch.no_grad()
def inference_video(model: torch.nn.Module,
                    frames: FramesType,
                    video_name: Optional[str] = None) -> Iterator[FrameResult]:
    """Run a video model on a video and yield one :class:`FrameResult` per frame, in order,
    as soon as the clip that predicts the frame is done.

    Clips follow the config's test ``VideoClipSample`` (``clip_length``, ``clip_overlap``;
    online models: clips of one frame) exactly as in testing: a clip starts every
    ``clip_length - clip_overlap`` frames and the last one is moved back to end at the last
    frame. Every frame of the video must have the size of the first.

    Args:
        model: a model from :func:`init_model` (it carries ``cfg``).
        frames: a video file, a folder of frames, a glob pattern or an iterable of BGR images
            (see :func:`read_frames`).
        video_name (str, optional): name given to the video in the frames' metainfo.
    """
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise ValueError('the model has no cfg; build it with init_model')
    init_default_scope(cfg.get('default_scope', 'mmvps'))
    clip_length, clip_overlap = clip_settings(cfg)
    step = clip_length - clip_overlap
    pipeline = build_frame_pipeline(cfg)
    num_classes, num_things = _num_classes(model)
    if video_name is None:
        video_name = osp.basename(str(frames).rstrip('/')) if isinstance(
            frames, (str, Path)) else 'video'

    buffer = deque(maxlen=clip_length)  # (frame_id, image, source) of the newest frames
    covered = 0  # frames predicted so far
    next_start = 0
    shape = None
    num_read = 0

    def run_clip(start: int) -> Iterator[FrameResult]:
        nonlocal covered
        clip = [item for item in buffer if item[0] >= start]
        frame_ids = [item[0] for item in clip]
        flags = [frame_id >= covered for frame_id in frame_ids]
        data = dict(
            img=[item[1] for item in clip],
            frame_id=frame_ids,
            video_id=[0] * len(clip),
            video_name=[video_name] * len(clip),
            frame_name=[f'{frame_id:06d}' for frame_id in frame_ids],
            video_length=[len(clip)] * len(clip),
            key_frame_flags=flags)
        data = pipeline(data)
        sample = model.test_step(default_collate([data]))[0]
        for t, frame_id in enumerate(frame_ids):
            if not flags[t]:
                continue
            frame = sample[t]
            panoptic = _frame_panoptic(frame, num_classes, model)
            yield FrameResult(
                frame_id=frame_id, image=clip[t][1], panoptic=panoptic,
                segments=_segments(panoptic, frame, num_classes, num_things),
                data_sample=frame, source=clip[t][2])
        covered = frame_ids[-1] + 1

    for frame_id, (image, source) in enumerate(read_frames(frames)):
        if shape is None:
            shape = image.shape
        elif image.shape != shape:
            where = source if source is not None else f'frame {frame_id}'
            raise ValueError(f'{where}: frame size {image.shape[1]}x{image.shape[0]} differs '
                             f'from the first frame\'s {shape[1]}x{shape[0]}; all frames of a '
                             'video must have one size')
        buffer.append((frame_id, image, source))
        num_read = frame_id + 1
        if frame_id == next_start + clip_length - 1:
            yield from run_clip(next_start)
            next_start += step
    if num_read == 0:
        raise ValueError(f'{frames if isinstance(frames, (str, Path)) else "frames"}: no frames')
    if covered < num_read:  # the last clip, moved back to end at the last frame
        starts = video_clip_starts(num_read, clip_length, clip_overlap)
        yield from run_clip(starts[-1])

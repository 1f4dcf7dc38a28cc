"""Base of the mmvps video datasets: one record per video, frames sorted by file name
(docs/conventions.md §1 and §3)."""
import os
from collections import Counter
import os.path as osp
from functools import cached_property
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
from mmdet.datasets import BaseVideoDataset
from mmdet.datasets.transforms import BaseFrameSample
from mmengine.logging import print_log
from PIL import Image, UnidentifiedImageError

from mmvps.structures.panoptic import IGNORE_INDEX
from .formats import FormatError, check_relative_name, read_text_lines


def panoptic_metainfo(categories: Sequence[dict]) -> dict:
    """``METAINFO`` of a category list: labels are the thing classes, then the stuff classes,
    each group in official id order."""
    ordered = [c for c in categories if c['isthing']] + [c for c in categories if not c['isthing']]
    return dict(
        classes=tuple(c['name'] for c in ordered),
        thing_classes=tuple(c['name'] for c in ordered if c['isthing']),
        stuff_classes=tuple(c['name'] for c in ordered if not c['isthing']),
        palette=[tuple(c['color']) for c in ordered])


class BaseVideoPanopticDataset(BaseVideoDataset):
    """A video panoptic dataset: ``data_list`` holds one dict per video (``video_id``,
    ``video_name``, ``video_length``, ``images``) whose frames are sorted by file name.

    Subclasses give ``CATEGORIES`` (official ``id``, ``name``, ``isthing``, ``color``) and
    implement :meth:`load_videos`. ``metainfo['classes']`` may name a subset or another order of
    the categories (thing classes first); the rest of the metainfo (``thing_classes``,
    ``stuff_classes``, ``palette``, ``label2cat``) follows from it, and categories left out
    become void (255). :meth:`get_data_info` attaches the ``label_map`` lookup table (official
    id + 1 -> training label, index 0 void) and ``num_things`` to every frame, so the loading
    transform needs no dataset.

    ``filter_cfg`` (training only) takes ``filter_unannotated`` (drop frames without ground
    truth, ``seg_map_path=None``) and ``min_size`` (drop frames whose shorter side is smaller);
    videos left without frames are dropped and named in the log; ``video_id`` is renumbered,
    ``frame_id`` keeps the frame's position in the whole video.
    """

    CATEGORIES: Sequence[dict] = ()
    METAINFO = panoptic_metainfo(CATEGORIES)
    FILTER_KEYS = ('filter_unannotated', 'min_size')

    @classmethod
    def _load_metainfo(cls, metainfo=None) -> dict:
        metainfo = super()._load_metainfo(metainfo)
        by_name = {c['name']: c for c in cls.CATEGORIES}
        classes = tuple(metainfo['classes'])
        unknown = [name for name in classes if name not in by_name]
        if unknown:
            raise ValueError(f'{cls.__name__}: classes {unknown} are not categories of the dataset')
        things = [name for name in classes if by_name[name]['isthing']]
        if classes[:len(things)] != tuple(things):
            raise ValueError(f'{cls.__name__}: classes must list the thing classes first, got '
                             f'{classes}')
        metainfo.update(
            classes=classes,
            thing_classes=tuple(things),
            stuff_classes=classes[len(things):],
            palette=[tuple(by_name[name]['color']) for name in classes],
            label2cat=[by_name[name]['id'] for name in classes])
        return metainfo

    @property
    def label2cat(self) -> List[int]:
        """Official category id of each training label."""
        return list(self.metainfo['label2cat'])

    @property
    def cat2label(self) -> dict:
        """Training label of each official category id that has one."""
        return {cat: label for label, cat in enumerate(self.label2cat)}

    @property
    def num_things(self) -> int:
        return len(self.metainfo['thing_classes'])

    @cached_property
    def label_map(self) -> np.ndarray:
        """Read-only LUT ``official id + 1 -> training label``; index 0 (void) and categories
        outside ``classes`` map to 255."""
        size = max(c['id'] for c in self.CATEGORIES) + 2
        lut = np.full(size, IGNORE_INDEX, dtype=np.int64)
        lut[np.asarray(self.label2cat, dtype=np.int64) + 1] = np.arange(len(self.label2cat))
        lut.flags.writeable = False
        return lut

    # ------------------------------------------------------------------ loading
    def load_videos(self) -> Iterable[Tuple[str, List[dict]]]:
        """Yield ``(video_name, frames)`` with frames made by :meth:`frame_info`."""
        raise NotImplementedError(f'{type(self).__name__} must implement load_videos')

    def load_data_list(self) -> List[dict]:
        """Video records of :meth:`load_videos`, frames sorted by image file name and numbered
        from 0; a video without frames is an error."""
        data_list = []
        for video_name, frames in self.load_videos():
            check_relative_name(video_name, self.source)
            for frame in frames:
                if frame.get('img_id') is not None:
                    check_relative_name(frame['img_id'], self.source, 'image id')
            if not frames:
                raise FormatError(f'{self.source}: video {video_name} has no frames')
            video_id = len(data_list)
            frames = sorted(frames, key=lambda frame: osp.basename(frame['img_path']))
            for frame_id, frame in enumerate(frames):
                frame.update(frame_id=frame_id, video_id=video_id, video_name=video_name)
            data_list.append(
                dict(video_id=video_id, video_name=video_name, video_length=len(frames),
                     images=frames))
        if not data_list:
            raise FormatError(f'{self.source}: no videos found')
        return data_list

    @property
    def source(self) -> str:
        """What the dataset is read from, for error messages."""
        return self.ann_file or self.data_prefix.get('img', self.data_root)

    @staticmethod
    def frame_info(img_path: str, seg_map_path: Optional[str], seg_format: str, height: int,
                   width: int, is_annotated: bool = True, **extra) -> dict:
        """One frame record (``frame_id``, ``video_id``, ``video_name`` are added by
        :meth:`load_data_list`). ``is_annotated`` says the dataset annotates the frame (its
        ground truth may still be absent locally, as for test splits: ``seg_map_path=None``);
        it is False only for frames between the annotated ones (Cityscapes-VPS ``img_all``)."""
        return dict(
            img_path=img_path,
            seg_map_path=seg_map_path,
            seg_format=seg_format,
            frame_name=osp.splitext(osp.basename(img_path))[0],
            height=int(height),
            width=int(width),
            is_annotated=is_annotated,
            **extra)

    # ------------------------------------------------------------------ file helpers
    @staticmethod
    def list_files(directory: str, suffix: str, what: str) -> List[str]:
        """Sorted names of the ``suffix`` files in ``directory``; an error naming the directory
        when it is missing or holds none."""
        if not osp.isdir(directory):
            raise FormatError(f'{directory}: {what} directory not found')
        names = sorted(n for n in os.listdir(directory) if n.endswith(suffix))
        if not names:
            raise FormatError(f'{directory}: {what} directory holds no {suffix} files')
        return names

    @staticmethod
    def image_size(path: str) -> Tuple[int, int]:
        """``(height, width)`` from an image header; an error naming the file when it cannot be
        read."""
        if not osp.isfile(path):
            raise FormatError(f'{path}: file not found')
        try:
            with Image.open(path) as img:
                width, height = img.size
        except (UnidentifiedImageError, OSError) as err:
            raise FormatError(f'{path}: unreadable or corrupt image ({err})') from err
        return height, width

    def read_split_file(self, path: str) -> List[str]:
        """Video names of a split file (one per line, blank lines ignored)."""
        if not osp.isfile(path):
            raise FormatError(f'{path}: split file not found')
        names = [line.strip() for line in read_text_lines(path) if line.strip()]
        for name in names:
            check_relative_name(name, path)
        if not names:
            raise FormatError(f'{path}: split file lists no videos')
        duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
        if duplicates:
            raise FormatError(f'{path}: videos listed twice: {duplicates[:10]}')
        return names

    @staticmethod
    def check_masks(seg_dir: str, stems: Sequence[str], suffix: str, img_dir: str) -> None:
        """Every frame of ``img_dir`` must have its mask ``<stem><suffix>`` in ``seg_dir``, and
        every mask an image."""
        if not osp.isdir(seg_dir):
            raise FormatError(f'{seg_dir}: mask directory not found (images in {img_dir})')
        masks = {n for n in os.listdir(seg_dir) if n.endswith(suffix)}
        wanted = {stem + suffix for stem in stems}
        missing = sorted(wanted - masks)
        if missing:
            raise FormatError(f'{osp.join(seg_dir, missing[0])}: mask not found for image '
                              f'{osp.join(img_dir, missing[0][:-len(suffix)])} '
                              f'({len(missing)} frames of the video lack a mask)')
        extra = sorted(masks - wanted)
        if extra:
            raise FormatError(f'{osp.join(seg_dir, extra[0])}: mask without an image in '
                              f'{img_dir} ({len(extra)} such masks)')

    # ------------------------------------------------------------------ mmdet hooks
    def get_data_info(self, idx: int) -> dict:
        """Video record with ``label_map`` and ``num_things`` on every frame."""
        info = super().get_data_info(idx)
        for frame in info['images']:
            frame['label_map'] = self.label_map
            frame['num_things'] = self.num_things
        return info

    def prepare_data(self, idx):
        """Test mode: a pipeline that starts with a frame-sampling transform (near-online clips,
        ``VideoClipSample(test_mode=True)``) gets the whole video record with the clip start
        ``idx[1]`` as ``key_frame_id``; otherwise mmdet's behaviour (one frame, or a video)."""
        if (self.test_mode and isinstance(idx, tuple) and self.pipeline.transforms
                and isinstance(self.pipeline.transforms[0], BaseFrameSample)):
            video_idx, start = idx
            return self.pipeline(dict(self.get_data_info(video_idx), key_frame_id=int(start)))
        return super().prepare_data(idx)

    def filter_data(self) -> List[dict]:
        """Apply ``filter_cfg`` in training; test mode keeps every frame."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        unknown = set(self.filter_cfg) - set(self.FILTER_KEYS)
        if unknown:
            raise ValueError(f'{type(self).__name__}: unknown filter_cfg keys {sorted(unknown)}, '
                             f'expected some of {self.FILTER_KEYS}')
        require_gt = self.filter_cfg.get('filter_unannotated', False)
        min_size = self.filter_cfg.get('min_size', 0)
        kept, dropped_videos, num_before, num_after = [], [], 0, 0
        for video in self.data_list:
            frames = [
                f for f in video['images'] if (f['seg_map_path'] is not None or not require_gt)
                and min(f['height'], f['width']) >= min_size
            ]
            num_before += len(video['images'])
            num_after += len(frames)
            if not frames:
                dropped_videos.append(video['video_name'])
                continue
            video_id = len(kept)
            for frame in frames:
                frame['video_id'] = video_id
            kept.append(dict(video, video_id=video_id, images=frames, video_length=len(frames)))
        if not kept:
            raise FormatError(f'{self.source}: filter_cfg {self.filter_cfg} leaves no frame')
        message = (f'{type(self).__name__}: frames before / after filtering: '
                   f'{num_before} / {num_after}')
        if dropped_videos:
            message += f'; videos left without frames and dropped: {dropped_videos}'
        print_log(message, 'current')
        return kept

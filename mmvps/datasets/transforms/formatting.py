"""Packing of multi-frame samples into mmdet's ``TrackDataSample``."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import to_tensor
from mmdet.datasets.transforms import PackTrackInputs
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.bbox import BaseBoxes
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData, PixelData

from mmvps.registry import TRANSFORMS


def _pack_field(value):
    """Boxes and masks stay mmdet structures (as in mmdet's ``PackDetInputs``), arrays become
    tensors."""
    return value if isinstance(value, (BaseBoxes, BitmapMasks)) else to_tensor(value)


@TRANSFORMS.register_module()
class PackVideoPanopticInputs(PackTrackInputs):
    """Pack a video sample (dict of per-frame lists) into ``inputs`` (``T x C x H x W``) and a
    ``TrackDataSample`` with one ``DetDataSample`` per frame.

    Each frame gets ``gt_instances`` (``labels``, ``masks``, ``bboxes``, ``instances_ids``;
    crowd instances flagged in ``gt_ignore_flags`` go to ``ignored_instances``), ``gt_sem_seg``
    from ``gt_seg_map`` and, in test pipelines, ``gt_panoptic_seg`` (``sem + inst * 1000``,
    original size), both as ``PixelData(sem_seg=LongTensor[1, H, W])``, plus the meta keys.
    Unlike mmdet's ``PackTrackInputs`` it needs no ``img_id``. The ``TrackDataSample`` carries
    ``key_frames_inds`` / ``ref_frames_inds`` from ``key_frame_flags``; a sample without
    ``key_frame_flags`` (a streamed test frame) has only key frames.

    Args:
        meta_keys (tuple[str], optional): meta keys added to ``default_meta_keys``.
        default_meta_keys (tuple[str]): per-frame meta keys. ``video_length`` is the number of
            frames in the sample and ``ori_video_length`` that of the video (mmdet's meaning).
    """

    def __init__(self,
                 meta_keys: Optional[Sequence[str]] = None,
                 default_meta_keys: tuple = ('img_path', 'ori_shape', 'img_shape',
                                             'scale_factor', 'flip', 'flip_direction',
                                             'video_id', 'video_name', 'frame_id',
                                             'frame_name', 'video_length',
                                             'ori_video_length', 'is_annotated',
                                             'key_frame_flags')):
        if isinstance(meta_keys, list):
            meta_keys = tuple(meta_keys)
        super().__init__(meta_keys=meta_keys, default_meta_keys=default_meta_keys)

    @staticmethod
    def _stack_images(results: dict) -> torch.Tensor:
        imgs = results['img']
        shapes = {img.shape for img in imgs}
        if len(shapes) > 1:
            raise ValueError(f'frames {results.get("img_path")} of one sample have different '
                             f'shapes {sorted(shapes)}; resize them to one size before packing')
        imgs = np.stack([img if img.ndim == 3 else img[..., None] for img in imgs])
        return to_tensor(np.ascontiguousarray(imgs.transpose(0, 3, 1, 2)))

    def transform(self, results: dict) -> dict:
        """Pack one sample into ``dict(inputs=Tensor, data_samples=TrackDataSample)``."""
        if 'img' not in results:
            raise KeyError(f'{results.get("img_path")}: no "img" to pack; load the frames first')
        num_frames = len(results['img'])
        key_frame_flags = results.setdefault('key_frame_flags', [True] * num_frames)
        for key, values in results.items():
            if key in self.mapping_table or key in self.meta_keys or key in (
                    'gt_ignore_flags', 'gt_seg_map', 'gt_panoptic_seg'):
                if len(values) != num_frames:
                    raise ValueError(f'{results.get("img_path")}: "{key}" has {len(values)} '
                                     f'entries for {num_frames} frames')

        frames = []
        for i in range(num_frames):
            gt_instances, ignored_instances = InstanceData(), InstanceData()
            if 'gt_ignore_flags' in results:
                ignored = np.asarray(results['gt_ignore_flags'][i], dtype=bool)
            else:
                ignored = None
            for key, name in self.mapping_table.items():
                if key not in results:
                    continue
                value = results[key][i]
                if ignored is None:
                    gt_instances[name] = _pack_field(value)
                else:
                    gt_instances[name] = _pack_field(value[np.flatnonzero(~ignored)])
                    ignored_instances[name] = _pack_field(value[np.flatnonzero(ignored)])
            frame = DetDataSample(gt_instances=gt_instances, ignored_instances=ignored_instances)
            for key, name in (('gt_seg_map', 'gt_sem_seg'), ('gt_panoptic_seg', 'gt_panoptic_seg')):
                if results.get(key) is not None and results[key][i] is not None:
                    seg = np.ascontiguousarray(results[key][i], dtype=np.int64)[None]
                    setattr(frame, name, PixelData(sem_seg=torch.from_numpy(seg)))
            frame.set_metainfo({key: results[key][i] for key in self.meta_keys if key in results})
            frames.append(frame)

        track_data_sample = TrackDataSample()
        track_data_sample.video_data_samples = frames
        flags = np.asarray(key_frame_flags, dtype=bool)
        track_data_sample.set_metainfo(dict(
            key_frames_inds=np.flatnonzero(flags).tolist(),
            ref_frames_inds=np.flatnonzero(~flags).tolist()))
        return dict(inputs=self._stack_images(results), data_samples=track_data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'

"""Video semantic segmentation metric (VSPW): mIoU and video consistency mVC8 / mVC16."""
from typing import Optional, Sequence

import numpy as np
from mmengine.logging import print_log
from terminaltables import AsciiTable

from mmvps.evaluation.functional import VideoSemSegAccumulator
from mmvps.registry import METRICS
from mmvps.structures.panoptic import IGNORE_INDEX, INSTANCE_OFFSET
from .base_video_stream_metric import BaseVideoStreamMetric, label_map_of


def semantic_of(frame, sem_key, panoptic_key, num_classes, where):
    """A frame's semantic map from ``sem_key`` or, failing that, from the panoptic map
    ``panoptic_key``; every label >= ``num_classes`` becomes ``IGNORE_INDEX``. None if neither."""
    sem = label_map_of(frame, sem_key, where)
    if sem is None:
        sem = label_map_of(frame, panoptic_key, where)
        if sem is None:
            return None
        sem = sem % INSTANCE_OFFSET
    return np.where(sem >= num_classes, IGNORE_INDEX, sem)


@METRICS.register_module()
class VideoSemSegMetric(BaseVideoStreamMetric):
    """mIoU and mVC_n of video semantic segmentation (VSPW's definitions).

    The prediction is a frame's ``pred_sem_seg`` (else the semantic part of
    ``pred_panoptic_seg``), the ground truth its ``gt_sem_seg`` (else ``gt_panoptic_seg``).

    Args:
        vc_windows (Sequence[int]): Clip lengths of the video consistency. Defaults to (8, 16).
        vc_include_last_window (bool): Also count the last full window, which VSPW's script
            skips (published numbers skip it). Defaults to False.
        classwise (bool): Log the per-class IoU table.
        format_only, outfile_prefix, submission_format, collect_device, prefix: See
            :class:`BaseVideoStreamMetric`.
    """
    default_prefix = 'vss'

    def __init__(self,
                 vc_windows: Sequence[int] = (8, 16),
                 vc_include_last_window: bool = False,
                 classwise: bool = False,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 submission_format: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(format_only, outfile_prefix, submission_format, collect_device, prefix)
        self.vc_windows = tuple(int(n) for n in vc_windows)
        self.vc_include_last_window = vc_include_last_window
        self.classwise = classwise

    def _new_accumulator(self):
        return VideoSemSegAccumulator(
            self.num_classes, void=IGNORE_INDEX, vc_windows=self.vc_windows,
            vc_include_last_window=self.vc_include_last_window)

    def _prediction(self, frame, where):
        sem = semantic_of(frame, 'pred_sem_seg', 'pred_panoptic_seg', self.num_classes, where)
        if sem is None:
            raise ValueError(f'{where}: the data sample has no pred_sem_seg or pred_panoptic_seg')
        return sem, np.zeros_like(sem)

    def _update(self, accumulator, video_name, frame, where):
        gt = semantic_of(frame, 'gt_sem_seg', 'gt_panoptic_seg', self.num_classes, where)
        if gt is None:
            raise ValueError(f'{where}: the data sample has no gt_sem_seg or gt_panoptic_seg; '
                             f'load the annotations in the test pipeline or set format_only=True')
        pred, _ = self._prediction(frame, where)
        if gt.shape != pred.shape:
            raise ValueError(f'{where}: prediction {pred.shape} and ground truth {gt.shape} '
                             f'differ in size')
        accumulator.update(video_name, gt, pred)

    def _format_results(self, results):
        if self.classwise:
            rows = [['class', 'IoU']]
            for name, iou in zip(self.dataset_meta['classes'], results['per_class_IoU']):
                rows.append([name, '-' if iou is None or np.isnan(iou) else f'{100 * iou:.2f}'])
            print_log('\n' + AsciiTable(rows).table, logger='current')
        return {key: 100 * results[key] for key in ('mIoU', *[f'mVC{n}' for n in self.vc_windows])
                if results.get(key) is not None and not np.isnan(results[key])}

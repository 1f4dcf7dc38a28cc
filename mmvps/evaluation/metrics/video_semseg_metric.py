"""Video semantic segmentation metric (VSPW): mIoU and video consistency mVC8 / mVC16, and
optionally mIoU on frame subsets (e.g. the hard frames of the synthetic VSS set)."""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.logging import print_log
from terminaltables import AsciiTable

from mmvps.datasets.formats import FormatError, load_json
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
        frame_subsets (dict, optional): ``{name: path}`` of frame-subset record files, JSON
            ``{video name: [frame name, ...]}`` (or ``{video name: {frame name: anything}}``,
            the form of the synthetic set's ``hard_frames.json``) listing every evaluated video.
            Adds ``mIoU_<name>``: mIoU on the listed frames only. Frame names are file stems.
            The files are read when the first frame is evaluated (configs build without data).
        rest_subset (str, optional): Name of the frames in none of ``frame_subsets``, reported
            as ``mIoU_<rest_subset>``; None leaves it out. Defaults to ``'clean'``.
        format_only, outfile_prefix, submission_format, collect_device, prefix: See
            :class:`BaseVideoStreamMetric`.
    """
    default_prefix = 'vss'

    def __init__(self,
                 vc_windows: Sequence[int] = (8, 16),
                 vc_include_last_window: bool = False,
                 classwise: bool = False,
                 frame_subsets: Optional[Dict[str, str]] = None,
                 rest_subset: Optional[str] = 'clean',
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 submission_format: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(format_only, outfile_prefix, submission_format, collect_device, prefix)
        self.vc_windows = tuple(int(n) for n in vc_windows)
        self.vc_include_last_window = vc_include_last_window
        self.classwise = classwise
        frame_subsets = dict(frame_subsets or {})
        if rest_subset is not None and rest_subset in frame_subsets:
            raise ValueError(f'rest_subset {rest_subset!r} is also a name in frame_subsets')
        self.frame_subsets = frame_subsets
        self.rest_subset = rest_subset if frame_subsets else None
        self._subset_records = None  # read when the first frame is evaluated

    def _new_accumulator(self):
        subsets = list(self.frame_subsets)
        if self.rest_subset is not None:
            subsets.append(self.rest_subset)
        return VideoSemSegAccumulator(
            self.num_classes, void=IGNORE_INDEX, vc_windows=self.vc_windows,
            vc_include_last_window=self.vc_include_last_window, subsets=subsets)

    def _subsets_of(self, frame, video_name, where):
        """Names of the frame subsets ``frame`` belongs to."""
        frame_name = frame.get('frame_name') or osp.splitext(
            osp.basename(frame.get('img_path') or ''))[0]
        if self._subset_records is None:
            self._subset_records = {name: load_frame_subset(path)
                                    for name, path in self.frame_subsets.items()}
        names = []
        for name, record in self._subset_records.items():
            path = self.frame_subsets[name]
            if video_name not in record:
                raise ValueError(
                    f'{path}: frame subset {name!r} lists no video {video_name!r} ({where}); '
                    'the record must list every evaluated video (an empty list when none of '
                    'its frames is in the subset) -- is it the record of another dataset?')
            if frame_name in record[video_name]:
                names.append(name)
        if not names and self.rest_subset is not None:
            names.append(self.rest_subset)
        return names

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
        subsets = self._subsets_of(frame, video_name, where) if self.frame_subsets else ()
        accumulator.update(video_name, gt, pred, subsets)

    def _format_results(self, results):
        if self.classwise:
            rows = [['class', 'IoU']]
            for name, iou in zip(self.dataset_meta['classes'], results['per_class_IoU']):
                rows.append([name, '-' if iou is None or np.isnan(iou) else f'{100 * iou:.2f}'])
            print_log('\n' + AsciiTable(rows).table, logger='current')
        metrics = {key: 100 * results[key]
                   for key in ('mIoU', *[f'mVC{n}' for n in self.vc_windows])
                   if results.get(key) is not None and not np.isnan(results[key])}
        for name, miou in results.get('subset_mIoU', {}).items():
            if miou is not None:
                metrics[f'mIoU_{name}'] = 100 * miou
        return metrics


def load_frame_subset(path: str) -> Dict[str, frozenset]:
    """``{video name: frozenset of frame names}`` of a frame-subset record file (JSON
    ``{video: [frame, ...]}`` or ``{video: {frame: ...}}``); a :class:`FormatError` naming
    ``path`` when it is missing, not JSON or not of that form."""
    record = load_json(path)
    if not isinstance(record, dict):
        raise FormatError(f'{path}: a frame-subset record is a JSON object '
                          f'{{"<video>": ["<frame>", ...]}}, got {type(record).__name__}')
    subsets = {}
    for video, frames in record.items():
        if not isinstance(frames, (list, dict)) or not all(isinstance(f, str) for f in frames):
            raise FormatError(f'{path}: video {video!r} must map to a list of frame names (or '
                              f'an object keyed by them), got {frames!r:.80}')
        subsets[video] = frozenset(frames)
    return subsets

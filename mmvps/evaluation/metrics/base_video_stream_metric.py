"""Common frame-streaming logic of the video metrics.

Frames arrive one video after another (a video stays on one rank, frames in order), either one
frame per sample or as clips / whole videos (``TrackDataSample``); overlapping clips repeat frames,
and each frame is counted once, by its ``frame_id``. Only additive accumulators are kept (memory
does not grow with the number of videos) and ranks exchange nothing but those in ``evaluate``.
"""
import os.path as osp
from abc import abstractmethod
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_gather_object, is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmvps.evaluation.exporters import SUBMISSION_EXPORTERS, labels_to_official


def frames_of(data_sample):
    """The per-frame samples of one data sample: a ``TrackDataSample`` (or its dict) holds
    ``video_data_samples``; anything else is a single frame. Frames may be ``DetDataSample``
    objects or their ``to_dict()`` form; both answer ``.get(key)``."""
    frames = data_sample.get('video_data_samples')
    return [data_sample] if frames is None else list(frames)


def label_map_of(frame, key, where):
    """A ``[H, W]`` int64 array from a frame's ``PixelData`` / dict with ``sem_seg``, tensor or
    array field ``key``; None when the frame has no such field."""
    value = frame.get(key)
    if value is None:
        return None
    if not isinstance(value, (torch.Tensor, np.ndarray)):
        value = value.get('sem_seg') if hasattr(value, 'get') else None
        if value is None:
            raise ValueError(f'{where}: {key} holds no sem_seg map')
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    value = np.asarray(value, dtype=np.int64)
    if value.ndim == 3 and value.shape[0] == 1:
        value = value[0]
    if value.ndim != 2:
        raise ValueError(f'{where}: {key} has shape {value.shape}, expected [1, H, W] or [H, W]')
    return value


class BaseVideoStreamMetric(BaseMetric):
    """Base of the streaming video metrics.

    Args:
        format_only (bool): Only write the official submission files (no ground truth needed).
        outfile_prefix (str, optional): Submission folder; files are written when it is given.
        submission_format (str, optional): One of ``SUBMISSION_EXPORTERS`` (``vipseg``,
            ``cityscapes_vps``, ``kitti_step``, ``motchallenge_step``, ``vspw``); needed with
            ``outfile_prefix``.
        collect_device (str): Kept for config compatibility with
            :class:`mmengine.evaluator.BaseMetric`; the accumulators are exchanged with
            ``all_gather_object`` on the default process group.
        prefix (str, optional): Prefix of the metric names (``default_prefix`` otherwise).
    """

    def __init__(self,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 submission_format: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if format_only and outfile_prefix is None:
            raise ValueError('format_only=True needs outfile_prefix (where to write the files)')
        if outfile_prefix is not None and submission_format not in SUBMISSION_EXPORTERS:
            raise ValueError(f'outfile_prefix needs submission_format, one of '
                             f'{sorted(SUBMISSION_EXPORTERS)}; got {submission_format!r}')
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.submission_format = submission_format
        self._reset()

    def _reset(self):
        self._accumulator = None
        self._exporter = None
        self._records = []
        self._video = None
        self._last_frame_id = -1
        self._finished_videos = set()

    # ------------------------------------------------------------------ label space
    @property
    def num_classes(self):
        return len(self.dataset_meta['classes'])

    @property
    def num_things(self):
        return len(self.dataset_meta.get('thing_classes', ()))

    @property
    def label2cat(self):
        """Training label -> official category id (identity when the dataset gives none)."""
        return list(self.dataset_meta.get('label2cat', range(self.num_classes)))

    @abstractmethod
    def _new_accumulator(self):
        """A fresh accumulator of the metric core for this dataset."""

    @abstractmethod
    def _update(self, accumulator, video_name, frame, where):
        """Add one evaluated frame to ``accumulator``."""

    @abstractmethod
    def _prediction(self, frame, where):
        """``(sem, inst)`` training-label prediction of one frame (void >= C)."""

    @abstractmethod
    def _format_results(self, results):
        """The logged metrics dict (x100) of the core's ``compute()`` output."""

    # ------------------------------------------------------------------ streaming
    def process(self, data_batch, data_samples: Sequence) -> None:
        """Add every new frame of ``data_samples`` (repeated frames of overlapping clips are
        skipped by ``frame_id``)."""
        for data_sample in data_samples:
            for frame in frames_of(data_sample):
                self._process_frame(frame)

    def _process_frame(self, frame):
        where = frame.get('img_path') or 'frame'
        video_name, frame_id = frame.get('video_name'), frame.get('frame_id')
        if video_name is None or frame_id is None:
            raise ValueError(f'{where}: the data sample lacks video_name / frame_id metainfo')
        if not self._is_new_frame(video_name, int(frame_id), where):
            return
        if self.outfile_prefix is not None:
            self._export(frame, video_name, int(frame_id), where)
        if self.format_only or not frame.get('is_annotated', True):
            return
        if self._accumulator is None:
            self._accumulator = self._new_accumulator()
        self._update(self._accumulator, video_name, frame, where)

    def _is_new_frame(self, video_name, frame_id, where):
        if video_name == self._video:
            if frame_id <= self._last_frame_id:
                return False
            if frame_id != self._last_frame_id + 1:
                raise ValueError(f'{where}: frame {frame_id} of video {video_name} follows frame '
                                 f'{self._last_frame_id}; frames must arrive in order, none '
                                 f'missing')
        else:
            if video_name in self._finished_videos:
                raise ValueError(f'{where}: video {video_name} resumes after another video '
                                 f'started; a video must stay on one rank, its frames in order')
            if frame_id != 0:
                raise ValueError(f'{where}: video {video_name} starts at frame {frame_id}, not 0')
            if self._video is not None:
                self._finished_videos.add(self._video)
            self._video = video_name
        self._last_frame_id = frame_id
        return True

    def _export(self, frame, video_name, frame_id, where):
        if self._exporter is None:
            label2cat = self.label2cat
            categories = [dict(id=cat, isthing=int(label < self.num_things))
                          for label, cat in enumerate(label2cat)]
            self._exporter = SUBMISSION_EXPORTERS[self.submission_format](
                self.outfile_prefix, categories)
        sem, inst = self._prediction(frame, where)
        cat, inst = labels_to_official(sem, inst, self.label2cat, self.num_things)
        img_path = frame.get('img_path') or ''
        meta = dict(
            video_id=frame.get('video_id', 0),
            video_name=video_name,
            frame_id=frame_id,
            frame_name=frame.get('frame_name') or osp.splitext(osp.basename(img_path))[0],
            img_path=img_path,
            img_id=frame.get('img_id'),
            seg_map_path=frame.get('seg_map_path'),
            is_annotated=frame.get('is_annotated', True))
        record = self._exporter.write_frame(meta, cat, inst)
        if record is not None:
            self._records.append(record)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, size: int = 0) -> dict:
        """Gather every rank's accumulator (and submission records), merge them in rank order
        and compute; every rank returns the same dict."""
        if self._accumulator is not None:
            self._accumulator.finish()
        parts = all_gather_object((self._accumulator, self._records))
        records = [r for _, rank_records in parts for r in rank_records]
        if self._exporter is not None or records:
            if is_main_process():
                exporter = self._exporter or SUBMISSION_EXPORTERS[self.submission_format](
                    self.outfile_prefix, [])
                exporter.write_index(records)
            print_log(f'{self.__class__.__name__}: {self.submission_format} submission files '
                      f'written to {self.outfile_prefix}', logger='current')
        if self.format_only:
            self._reset()
            return {}
        metrics = self.compute_metrics([acc for acc, _ in parts if acc is not None])
        self._reset()
        if self.prefix:
            metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
        return metrics

    def compute_metrics(self, results: list) -> dict:
        """Merge the gathered accumulators and compute the metrics."""
        if not results:
            raise ValueError(f'{self.__class__.__name__}: no annotated frame was evaluated')
        total = self._new_accumulator()
        for accumulator in results:
            total.merge(accumulator)
        return self._format_results(total.compute())

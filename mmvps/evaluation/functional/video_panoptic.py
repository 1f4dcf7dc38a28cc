"""Streaming accumulator of image PQ, VPQ (several window sizes) and STQ.

Each frame is counted once (:func:`count_segment_pairs`); the pair statistics then serve image
PQ, every VPQ window that ends at the frame, and STQ. Per open video the accumulator keeps the
pair statistics of the last ``max(windows) - 1`` frames and STQ's per-tube sums; everything else
is additive (per-class counts per window size, the STQ confusion matrix, per-video AQ sums), so
``merge`` is addition and any split of the videos gives the same numbers.
"""
import math
from collections import deque

import numpy as np

from .panoptic_quality import PanopticCounts, match_segment_tubes, match_tubes
from .segment_pairs import (CODE_SHIFT, INST_MASK, code_inst, code_sem, count_segment_pairs,
                            pair_codes, sum_by_code, sum_by_pair)
from .streaming import StreamingVideoAccumulator

# VPQ window sizes (in evaluated frames) of the published protocols.
WINDOW_PRESETS = {
    'cityscapes_vps': (1, 2, 3, 4),  # annotated every 5th frame: k = 0, 5, 10, 15
    'vipseg': (1, 2, 4, 6),  # the VIPSeg paper
    'vipseg_official': (1, 2, 4, 6, 8),  # VIPSeg's eval_vpq_vspw.py
    'viper': (5, 10, 15),
    'kitti_step': (1, 2, 3, 4),
}

_STQ_CONSOLIDATE = 32  # frames of STQ tube sums buffered before they are summed up


class _SegmentFrame:
    """One COCO-panoptic frame given by segments: the official scripts' per-segment statistics
    (for PQ / VPQ) and the pair codes STQ reads."""
    __slots__ = ('segments', 'codes')

    def __init__(self, segments, codes):
        self.segments = segments
        self.codes = codes


class _Sequence:
    """STQ statistics of the open video: per-tube areas and intersections (deeplab2 STQuality,
    one sequence), summed over frames; the memory grows with the number of tubes only."""

    def __init__(self, num_classes):
        self.confusion = np.zeros((num_classes + 1, num_classes + 1), np.int64)
        self.gt = []  # (codes, areas) of GT tubes
        self.pred = []  # (codes, areas) of predicted tubes, GT crowd pixels excluded
        self.inter = []  # (gt codes, pred codes, areas)
        self.script_crowd = None  # compat mode: the code of the first listed GT segment

    def consolidate(self):
        def cat(parts, k):
            return np.concatenate([p[k] for p in parts])

        if self.gt:
            self.gt = [sum_by_code(cat(self.gt, 0), cat(self.gt, 1))]
        if self.pred:
            self.pred = [sum_by_code(cat(self.pred, 0), cat(self.pred, 1))]
        if self.inter:
            self.inter = [sum_by_pair(cat(self.inter, 0), cat(self.inter, 1),
                                      cat(self.inter, 2))]

    def association_sum(self):
        """``(sum over GT tubes of (1/|g|) sum_p TPA * IoU_A(p, g), number of GT tubes)``."""
        self.consolidate()
        if not self.gt:
            return 0.0, 0
        gt_codes, gt_area = self.gt[0]
        if not self.inter:
            return 0.0, len(gt_codes)
        pred_codes, pred_area = self.pred[0]
        inter_gt, inter_pred, tpa = self.inter[0]
        g = np.searchsorted(gt_codes, inter_gt)
        p = np.searchsorted(pred_codes, inter_pred)
        union = pred_area[p] + gt_area[g] - tpa  # TPA + FPA + FNA
        inner = np.bincount(g, weights=tpa * (tpa / union), minlength=len(gt_codes))
        return math.fsum((1.0 / gt_area) * inner), len(gt_codes)


def mean_iou_of_confusion(confusion):
    """deeplab2's STQ IoU: mean over every index whose union is nonzero (the void row must be
    zero already; the void column stays in). None when every union is zero."""
    inter = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - np.diag(confusion)
    present = union > 0
    if not present.any():
        return None
    return float(np.sum(inter[present] / union[present]) / np.count_nonzero(present))


def _stq(aq, iou):
    return None if aq is None or iou is None else math.sqrt(aq * iou)


class VideoPanopticAccumulator(StreamingVideoAccumulator):
    """Image PQ, VPQ for a set of window sizes, and STQ of video panoptic predictions.

    Args:
        categories (list[dict]): ``dict(id, name, isthing)`` with ids ``0..C-1``.
        void (int): GT / predicted void label (>= C); predictions may also use ``C``.
        windows (Sequence[int]): VPQ window sizes in evaluated frames (see
            :data:`WINDOW_PRESETS`).
        with_stq (bool): also compute STQ / AQ / IoU (deeplab2 numpy ``STQuality``).
        stq_vipseg_script_compat (bool): reproduce VIPSeg's ``eval_stq_vspw.py`` instead: GT
            crowd is an ordinary track, and when a video's first listed GT segment is a thing
            (its first labelled frame has no stuff) that track is treated as crowd. Segments
            are assumed listed as the VIPSeg files list them: stuff first, then things by class
            and instance.

    Frames are given with :meth:`update` per video, in order; a new video name closes the
    previous video, :meth:`finish` closes the last one. :meth:`compute` returns fractions.
    """

    MERGE_SETTINGS = ('categories', 'void', 'windows', 'with_stq', 'stq_vipseg_script_compat')

    def __init__(self, categories, void=255, windows=(1, 2, 4, 6), with_stq=True,
                 stq_vipseg_script_compat=False):
        super().__init__()
        categories = sorted(categories, key=lambda c: c['id'])
        if [c['id'] for c in categories] != list(range(len(categories))) or not categories:
            raise ValueError('categories must have the contiguous ids 0..C-1, got ids '
                             f'{[c["id"] for c in categories]}')
        names = [c['name'] for c in categories]
        if len(set(names)) != len(names):
            raise ValueError(f'category names must be unique, got {names}')
        self.categories = [dict(id=c['id'], name=c['name'], isthing=int(bool(c['isthing'])))
                           for c in categories]
        self.num_classes = len(categories)
        if void < self.num_classes:
            raise ValueError(f'void label {void} collides with the classes 0..'
                             f'{self.num_classes - 1}')
        self.void = int(void)
        windows = tuple(sorted(set(int(n) for n in windows)))
        if not windows or windows[0] < 1:
            raise ValueError(f'VPQ window sizes must be positive integers, got {windows}')
        self.windows = windows
        self.with_stq = bool(with_stq)
        self.stq_vipseg_script_compat = bool(stq_vipseg_script_compat)
        self._isthing = np.array([c['isthing'] for c in self.categories] + [0], bool)
        self._sizes = tuple(sorted(set(windows) | {1}))  # n = 1 also gives image PQ
        self._counts = {n: PanopticCounts(self.num_classes) for n in self._sizes}
        self._confusion = np.zeros((self.num_classes + 1, ) * 2, np.int64)
        self._per_video = {}  # name -> (AQ sum, number of GT tubes, IoU) (STQ)
        self._frames = deque(maxlen=self._sizes[-1] - 1)
        self._sequence = None

    # ------------------------------------------------------------------ streaming
    @property
    def num_buffered_frames(self):
        """Frames of the open video whose pair statistics are held for later windows."""
        return len(self._frames)

    def update(self, video_name, gt_sem, gt_inst, pred_sem, pred_inst):
        """Add the next evaluated frame of ``video_name`` (label maps of one shape)."""
        where = self._enter_video(video_name)
        self._add_frame(count_segment_pairs(gt_sem, gt_inst, pred_sem, pred_inst,
                                            self.num_classes, self._isthing, self.void, where))

    def update_pairs(self, video_name, gt_sem, gt_inst, pred_sem, pred_inst, counts):
        """Add the next evaluated frame given as counted segment pairs: one entry per
        overlapping (GT segment, predicted segment) pair, its labels and its pixel count (e.g.
        from :func:`count_index_pairs` on COCO-panoptic segment indices). Same result as
        :meth:`update` on the label maps."""
        where = self._enter_video(video_name)
        gt_codes, pred_codes = pair_codes(gt_sem, gt_inst, pred_sem, pred_inst,
                                          self.num_classes, self._isthing, self.void, where)
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape != gt_codes.shape or (counts < 0).any():
            raise ValueError(f'{where}: counts must be one non-negative count per pair')
        self._add_frame((gt_codes, pred_codes, counts))

    def update_segments(self, video_name, gt_segments, pred_segments, pairs):
        """Add the next evaluated frame of a COCO-panoptic video as the official scripts read
        it: segment by segment (see :func:`match_segment_tubes`).

        Args:
            gt_segments (tuple): ``(ids, sem, iscrowd, area)`` of the GT ``segments_info`` in
                listing order: segment ids (> 0, stable within the video), class indices
                ``0..C-1``, crowd flags and pixel counts (0 for a listed id the PNG lacks).
            pred_segments (tuple): ``(ids, sem, area)`` of the predicted segments (areas > 0;
                ``iscrowd`` of a prediction is never read, as in the official scripts).
            pairs (tuple): ``(gt positions, pred positions, counts)``: every overlapping pair,
                positions into the two lists, -1 for void.

        VPQ and PQ follow the official scripts (two segments of one stuff class are two
        segments, a GT crowd segment of any class is ignored). STQ (deeplab2) sees thing
        tracks ``(class, segment id)``; GT crowd (``iscrowd`` things) is its crowd, or, with
        ``stq_vipseg_script_compat``, the video's first listed GT segment when it is a thing.
        Frames given by :meth:`update` and by this method cannot share a video.
        """
        where = self._enter_video(video_name)
        gt_ids, gt_sem, gt_crowd, gt_area = (np.asarray(a) for a in gt_segments)
        pred_ids, pred_sem, pred_area = (np.asarray(a) for a in pred_segments)
        gt_pos, pred_pos, counts = (np.asarray(a, dtype=np.int64) for a in pairs)
        gt_ids, pred_ids = gt_ids.astype(np.int64), pred_ids.astype(np.int64)
        for ids, what in ((gt_ids, 'ground-truth'), (pred_ids, 'predicted')):
            if ids.size and (ids.min() < 1 or ids.max() > INST_MASK
                             or len(np.unique(ids)) != len(ids)):
                raise ValueError(f'{where}: {what} segment ids must be unique and in '
                                 f'1..{INST_MASK}')
        if not (len(gt_sem) == len(gt_crowd) == len(gt_area) == len(gt_ids)
                and len(pred_sem) == len(pred_area) == len(pred_ids)
                and len(gt_pos) == len(pred_pos) == len(counts)):
            raise ValueError(f'{where}: segment tables and pairs must have matching lengths')
        for sem, what in ((gt_sem, 'ground-truth'), (pred_sem, 'predicted')):
            if sem.size and (sem.min() < 0 or sem.max() >= self.num_classes):
                raise ValueError(f'{where}: {what} segment classes must lie in '
                                 f'0..{self.num_classes - 1}')
        if (pred_area <= 0).any() or (gt_area < 0).any() or (counts < 0).any():
            raise ValueError(f'{where}: predicted areas must be positive, GT areas and counts '
                             f'non-negative')
        if ((gt_pos < -1) | (gt_pos >= len(gt_ids)) | (pred_pos < -1)
                | (pred_pos >= len(pred_ids))).any():
            raise ValueError(f'{where}: pair positions must index the segment lists or be -1')
        gt_sem_v = np.append(np.asarray(gt_sem, np.int64), self.void)  # position -1: void
        pred_sem_v = np.append(np.asarray(pred_sem, np.int64), self.void)
        gt_crowd = np.asarray(gt_crowd, bool)
        gt_codes, pred_codes = pair_codes(
            gt_sem_v[gt_pos], np.append(gt_ids, 0)[gt_pos], pred_sem_v[pred_pos],
            np.append(pred_ids, 0)[pred_pos], self.num_classes, self._isthing, self.void, where)
        thing_sem = np.minimum(gt_sem_v[gt_pos], self.num_classes)
        if self.with_stq and self.stq_vipseg_script_compat:
            if self._sequence.script_crowd is None and len(gt_ids):
                first = (int(gt_sem[0]) << CODE_SHIFT) | int(gt_ids[0])
                self._sequence.script_crowd = first if self._isthing[gt_sem[0]] else -1
            stq_gt = gt_codes
        else:  # deeplab2: GT crowd is a thing pixel with instance 0
            crowd = np.append(gt_crowd, False)[gt_pos] & self._isthing[thing_sem]
            stq_gt = np.where(crowd, thing_sem << CODE_SHIFT, gt_codes)
        frame = _SegmentFrame(
            (gt_ids, np.asarray(gt_sem, np.int64), gt_crowd, np.asarray(gt_area, np.int64),
             pred_ids, np.asarray(pred_sem, np.int64), np.asarray(pred_area, np.int64),
             np.append(gt_ids, 0)[gt_pos], np.append(pred_ids, 0)[pred_pos], counts),
            (stq_gt, pred_codes, counts))
        self._add_frame(frame)

    def _add_frame(self, frame):
        kinds = {isinstance(f, _SegmentFrame) for f in self._frames}
        if kinds and kinds != {isinstance(frame, _SegmentFrame)}:
            raise ValueError(f'video {self._video!r}: frames given by update() and by '
                             f'update_segments() cannot share a video')
        self._add_windows(frame)
        if self.with_stq:
            self._add_stq(frame)
        self._frames.append(frame)
        self._frame_index += 1

    def _open_video(self):
        self._sequence = _Sequence(self.num_classes) if self.with_stq else None

    def _close_video(self):
        """The video's STQ becomes final."""
        if self.with_stq:
            seq = self._sequence
            aq_sum, num_tubes = seq.association_sum()
            self._per_video[self._video] = (aq_sum, num_tubes,
                                            mean_iou_of_confusion(seq.confusion))
            self._confusion += seq.confusion
        self._sequence = None
        self._frames.clear()

    def _merge_statistics(self, other):
        for n in self._sizes:
            self._counts[n] += other._counts[n]
        self._confusion += other._confusion
        self._per_video.update(other._per_video)

    # ------------------------------------------------------------------ per frame
    def _add_windows(self, frame):
        """Match the tubes of every window (of each size) that ends at this frame."""
        if isinstance(frame, _SegmentFrame):
            history = list(self._frames) + [frame]
            for n in self._sizes:
                if n <= len(history):
                    match_segment_tubes([f.segments for f in history[-n:]], self.num_classes,
                                        self._counts[n])
            return
        history = [frame] + list(reversed(self._frames))
        sizes = [n for n in self._sizes if n <= len(history)]
        used = history[:sizes[-1]]
        ends = np.cumsum([len(f[2]) for f in used])
        gt_codes, pred_codes, counts = (np.concatenate([f[k] for f in used]) for k in range(3))
        match_tubes(gt_codes, pred_codes, counts, [ends[n - 1] for n in sizes],
                    self.num_classes, self._isthing, [self._counts[n] for n in sizes])

    def _add_stq(self, frame):
        """deeplab2 STQuality.update_state on the pair statistics of one frame."""
        gt_codes, pred_codes, counts = frame.codes if isinstance(frame, _SegmentFrame) else frame
        seq, size = self._sequence, self.num_classes + 1
        gt_sem, pred_sem = code_sem(gt_codes), code_sem(pred_codes)
        labelled = gt_sem < self.num_classes  # the void row of the confusion is zeroed
        seq.confusion += np.bincount(gt_sem[labelled] * size + pred_sem[labelled],
                                     weights=counts[labelled],
                                     minlength=size * size).astype(np.int64).reshape(size, size)

        gt_thing = self._isthing[gt_sem]
        if self.stq_vipseg_script_compat:
            if seq.script_crowd is None and labelled.any() and not isinstance(frame,
                                                                             _SegmentFrame):
                # The script numbers a video's segments from 0 in listing order (stuff first),
                # so a thing gets instance 0 (crowd) only if the first labelled frame has no
                # stuff; -1 matches no segment.
                listed = gt_codes[labelled]
                things = listed[self._isthing[code_sem(listed)]]
                seq.script_crowd = things.min() if len(things) == len(listed) else -1
            gt_crowd = gt_codes == seq.script_crowd
        else:
            gt_crowd = gt_thing & (code_inst(gt_codes) == 0)
        gt_tube = gt_thing & ~gt_crowd
        pred_tube = self._isthing[pred_sem] & ~gt_crowd
        seq.gt.append((gt_codes[gt_tube], counts[gt_tube]))
        seq.pred.append((pred_codes[pred_tube], counts[pred_tube]))
        both = gt_tube & pred_tube
        seq.inter.append((gt_codes[both], pred_codes[both], counts[both]))
        if len(seq.gt) >= _STQ_CONSOLIDATE:
            seq.consolidate()

    # ------------------------------------------------------------------ results
    def compute(self):
        """Closes the open video and returns the metrics (fractions; None where undefined)::

            {'PQ': {'all', 'things', 'stuff'}, 'SQ': {...}, 'RQ': {...},
             'VPQ': {'n=1': {'all', 'things', 'stuff'} or None, ..., 'mean': {...} or None},
             'STQ', 'AQ', 'IoU', 'per_video': {name: {'STQ', 'AQ', 'IoU'}},
             'per_class': {class name: {'PQ', 'SQ', 'RQ', 'TP', 'FP', 'FN',
                                        'VPQ@n=K', 'SQ@n=K', 'RQ@n=K', 'TP@n=K', ...}}}

        A VPQ size without any window (every video shorter) is None, and so is the mean then.
        The STQ keys are present only with ``with_stq``.
        """
        self.finish()
        isthing = self._isthing[:-1].tolist()
        image = self._counts[1]
        result = {key: image.averages(isthing, key) for key in ('PQ', 'SQ', 'RQ')}

        vpq = {}
        for n in self.windows:
            counts = self._counts[n]
            vpq[f'n={n}'] = counts.averages(isthing) if counts.num_windows else None
        per_n = list(vpq.values())
        vpq['mean'] = None if any(v is None for v in per_n) else {
            group: (None if any(v[group] is None for v in per_n)
                    else sum(v[group] for v in per_n) / len(per_n))
            for group in ('all', 'things', 'stuff')}
        result['VPQ'] = vpq

        if self.with_stq:
            result.update(self._compute_stq())
        result['per_class'] = self._per_class_table()
        return result

    def _compute_stq(self):
        per_video = {}
        for name, (aq_sum, num_tubes, iou) in sorted(self._per_video.items()):
            aq = aq_sum / max(num_tubes, 1e-15)
            per_video[name] = dict(STQ=_stq(aq, iou), AQ=aq, IoU=iou)
        if not self._per_video:
            return dict(STQ=None, AQ=None, IoU=None, per_video=per_video)
        stats = self._per_video.values()
        aq = math.fsum(s[0] for s in stats) / max(sum(s[1] for s in stats), 1e-15)
        iou = mean_iou_of_confusion(self._confusion)
        return dict(STQ=_stq(aq, iou), AQ=aq, IoU=iou, per_video=per_video)

    def _per_class_table(self):
        table = {c['name']: {} for c in self.categories}
        image = self._counts[1].per_class()
        for category, row in zip(self.categories, image):
            table[category['name']].update(
                (key, row[key]) for key in ('PQ', 'SQ', 'RQ', 'TP', 'FP', 'FN'))
        for n in self.windows:
            for category, row in zip(self.categories, self._counts[n].per_class()):
                for key in ('PQ', 'SQ', 'RQ', 'TP', 'FP', 'FN'):
                    name = 'VPQ' if key == 'PQ' else key
                    table[category['name']][f'{name}@n={n}'] = row[key]
        return table

"""Streaming accumulator of VSPW's semantic metrics: mIoU and video consistency VC_n.

mIoU (VSPW ``evaluator_test.py``): one C x C confusion matrix over all frames, GT void dropped,
mean IoU over the classes present in the GT. Predictions must be classes ``0..C-1`` there (the
official evaluator cannot score anything else), otherwise mIoU is None.

VC_n (VSPW ``VC_perclip.py``): for a window of n consecutive frames, G = pixels whose GT label
is the same in all n frames (void included), P = pixels whose prediction is the same in all n
frames; VC = |G and P| / |G|. Windows start at 0 .. T-n-1 (the official loop skips the last
full window; ``vc_include_last_window`` adds it), mVC_n = NaN-mean over the windows of every
video. Instead of keeping n frames, each pixel keeps the frame where its current run of equal
labels started: a pixel is constant over the window starting at i iff its run started <= i, so
every n is answered from two int32 maps per video.

Frame subsets (e.g. the synthetic set's hard frames): a frame may be tagged with subset names;
each subset keeps its own confusion matrix, so mIoU is also reported on those frames alone.
"""
from fractions import Fraction

import numpy as np

from .segment_pairs import checked_label_map
from .streaming import StreamingVideoAccumulator

_INT64_MAX = (1 << 63) - 1


class VideoSemSegAccumulator(StreamingVideoAccumulator):
    """mIoU and mVC_n of video semantic segmentation (VSPW).

    Args:
        num_classes (int): number of classes C (labels ``0..C-1``).
        void (int): GT ignore label (>= C).
        vc_windows (Sequence[int]): the n of VC_n.
        vc_include_last_window (bool): also count the last full window of each video (the
            official script skips it; published numbers do too).
        subsets (Sequence[str]): names of frame subsets scored on their own (mIoU only; a
            subset's frames are not consecutive, so VC is not defined on it).

    :meth:`update` takes a video's frames in order; a new video name closes the previous one.
    """

    MERGE_SETTINGS = ('num_classes', 'void', 'vc_windows', 'vc_include_last_window', 'subsets')

    def __init__(self, num_classes, void=255, vc_windows=(8, 16), vc_include_last_window=False,
                 subsets=()):
        super().__init__()
        if num_classes < 1 or void < num_classes:
            raise ValueError(f'need num_classes >= 1 and a void label >= num_classes, got '
                             f'num_classes={num_classes}, void={void}')
        self.num_classes = int(num_classes)
        self.void = int(void)
        self.vc_windows = tuple(sorted(set(int(n) for n in vc_windows)))
        if self.vc_windows and self.vc_windows[0] < 2:
            raise ValueError(f'VC window sizes must be >= 2, got {vc_windows}')
        self.vc_include_last_window = bool(vc_include_last_window)
        self._confusion = np.zeros((num_classes, num_classes), np.int64)
        self._unscorable = 0  # labelled GT pixels predicted outside 0..C-1
        self.subsets = tuple(subsets)
        if len(set(self.subsets)) != len(self.subsets):
            raise ValueError(f'subset names must be unique, got {self.subsets}')
        self._subset_confusion = {name: np.zeros_like(self._confusion) for name in self.subsets}
        self._subset_unscorable = {name: 0 for name in self.subsets}
        self._vc_sum = {n: Fraction(0) for n in self.vc_windows}  # exact sum of window VCs
        self._vc_count = {n: 0 for n in self.vc_windows}
        self._reset_video()

    def _reset_video(self):
        self._last_gt = self._last_pred = None
        self._gt_run_start = self._pred_run_start = None
        self._pending = {}  # n -> (|G and P|, |G|) of the window ending at the last frame

    def update(self, video_name, gt_sem, pred_sem, subsets=()):
        """Add the next frame of ``video_name``; ``subsets`` names the frame subsets it belongs
        to (names given at construction)."""
        where = self._enter_video(video_name)
        unknown = [name for name in subsets if name not in self._subset_confusion]
        if unknown:
            raise ValueError(f'{where}: unknown frame subsets {unknown}, the accumulator has '
                             f'{list(self.subsets)}')
        gt, gt_max = checked_label_map(gt_sem, max(self.void, self.num_classes - 1),
                                       'ground-truth semantic', where)
        pred, _ = checked_label_map(pred_sem, _INT64_MAX, 'predicted semantic', where)
        if gt.shape != pred.shape:
            raise ValueError(f'{where}: ground truth {gt.shape} and prediction {pred.shape} '
                             f'differ in shape')
        confusion, unscorable = self._add_confusion(gt, gt_max, pred, where)
        for name in set(subsets):
            self._subset_confusion[name] += confusion
            self._subset_unscorable[name] += unscorable
        if self.vc_windows:
            self._add_consistency(gt, pred, where)
        self._frame_index += 1

    def _add_confusion(self, gt, gt_max, pred, where):
        num_classes = self.num_classes
        key = np.multiply(gt, num_classes + 1, dtype=np.intp)
        key += np.minimum(pred, num_classes)  # predictions outside the classes: one column
        counts = np.bincount(key.ravel(), minlength=(gt_max + 1) * (num_classes + 1))
        counts = counts.reshape(gt_max + 1, num_classes + 1)
        stray = np.flatnonzero(counts[num_classes:].sum(1))
        stray = stray[stray + num_classes != self.void]
        if len(stray):
            raise ValueError(f'{where}: ground-truth label {stray[0] + num_classes} is neither '
                             f'a class (0..{num_classes - 1}) nor void ({self.void})')
        labelled = counts[:num_classes]
        confusion = np.zeros_like(self._confusion)
        confusion[:len(labelled)] = labelled[:, :num_classes]
        unscorable = int(labelled[:, num_classes].sum())
        self._confusion += confusion
        self._unscorable += unscorable
        return confusion, unscorable

    def _add_consistency(self, gt, pred, where):
        t = self._frame_index
        if t == 0:
            self._gt_run_start = np.zeros(gt.shape, np.int32)
            self._pred_run_start = np.zeros(gt.shape, np.int32)
        else:
            if gt.shape != self._last_gt.shape:
                raise ValueError(f'{where}: frame size {gt.shape} differs from the previous '
                                 f'frame {self._last_gt.shape}')
            np.copyto(self._gt_run_start, t, where=gt != self._last_gt)
            np.copyto(self._pred_run_start, t, where=pred != self._last_pred)
        self._last_gt, self._last_pred = gt.copy(), pred.copy()

        both_start = None
        for n in self.vc_windows:
            if n in self._pending:  # a later frame exists: that window is not the last one
                self._commit(n, self._pending.pop(n))
            start = t - n + 1
            if start < 0:
                continue
            if both_start is None:
                both_start = np.maximum(self._gt_run_start, self._pred_run_start)
            self._pending[n] = (int(np.count_nonzero(both_start <= start)),
                                int(np.count_nonzero(self._gt_run_start <= start)))

    def _commit(self, n, window):
        consistent, gt_constant = window
        if gt_constant:  # 0 / 0 is NaN in the official script and left out of the mean
            self._vc_sum[n] += Fraction(consistent / gt_constant)
            self._vc_count[n] += 1

    def _close_video(self):
        if self.vc_include_last_window:
            for n, window in self._pending.items():
                self._commit(n, window)
        self._reset_video()

    def _merge_statistics(self, other):
        self._confusion += other._confusion
        self._unscorable += other._unscorable
        for name in self.subsets:
            self._subset_confusion[name] += other._subset_confusion[name]
            self._subset_unscorable[name] += other._subset_unscorable[name]
        for n in self.vc_windows:
            self._vc_sum[n] += other._vc_sum[n]
            self._vc_count[n] += other._vc_count[n]

    def compute(self):
        """Closes the open video and returns ``{'mIoU', 'mVC<n>' per n, 'per_class_IoU',
        'subset_mIoU'}`` (fractions; ``per_class_IoU`` lists every class, None for classes
        absent from the GT; ``subset_mIoU``, only with ``subsets``, maps each subset name to
        the mIoU of its frames).
        mIoU and every per-class IoU are None when a labelled pixel was predicted outside
        ``0..C-1`` (the official evaluator cannot score it) or nothing was labelled; mVC_n is
        None without any window (the official script prints nan)."""
        self.finish()
        miou, per_class = _miou(self._confusion, self._unscorable)
        result = dict(mIoU=miou)
        for n in self.vc_windows:
            count = self._vc_count[n]
            result[f'mVC{n}'] = float(self._vc_sum[n] / count) if count else None
        result['per_class_IoU'] = per_class
        if self.subsets:
            result['subset_mIoU'] = {
                name: _miou(self._subset_confusion[name], self._subset_unscorable[name])[0]
                for name in self.subsets}
        return result


def _miou(conf, unscorable):
    """``(mIoU over the classes present in the GT, per-class IoU)`` of a confusion matrix
    (rows GT); both None when ``unscorable`` pixels exist or nothing is labelled."""
    inter = np.diag(conf).astype(np.float64)
    gt_area = conf.sum(1)
    union = gt_area + conf.sum(0) - np.diag(conf)
    present = gt_area > 0
    if unscorable or not present.any():
        return None, [None] * len(conf)
    per_class = [float(i / u) if p else None for i, u, p in zip(inter, union, present)]
    return float(np.mean(inter[present] / union[present])), per_class

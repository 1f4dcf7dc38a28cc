"""Tube matching of panoptic quality (image PQ is the 1-frame tube) and its class averages.

Matching follows panopticapi and the VPQ scripts of Cityscapes-VPS / VIPSeg, with every area
and intersection summed over the frames of the window:

* candidate pair: GT segment not crowd, same class; ``IoU = I / (|p| + |g| - I - I(void, p))``;
  a match needs ``IoU > 0.5`` (exactly 0.5 is no match);
* FN: an unmatched non-crowd GT segment;
* FP: an unmatched prediction, unless ``(I(void, p) + I(crowd of p's class, p)) / |p| > 0.5``.

IoU sums are kept as exact integers (a matched IoU lies in (0.5, 1], where every float64 is a
multiple of 2**-53), so statistics merged in any order give bit-identical results.
"""
import numpy as np

from .segment_pairs import code_inst, code_sem

IOU_BITS = 53  # a matched IoU times 2**53 is an integer
_LOW_BITS = 26  # split in two int64 parts so that sums never overflow


class PanopticCounts:
    """Per-class TP / FP / FN and exact IoU sums, additive over windows, videos and ranks."""

    def __init__(self, num_classes):
        self.tp = np.zeros(num_classes, np.int64)
        self.fp = np.zeros(num_classes, np.int64)
        self.fn = np.zeros(num_classes, np.int64)
        self.iou_high = np.zeros(num_classes, np.int64)
        self.iou_low = np.zeros(num_classes, np.int64)
        self.num_windows = 0

    def __iadd__(self, other):
        for name in ('tp', 'fp', 'fn', 'iou_high', 'iou_low'):
            getattr(self, name).__iadd__(getattr(other, name))
        self.num_windows += other.num_windows
        return self

    def add_matches(self, classes, ious):
        """Count matched tubes ``classes`` with their IoUs (all > 0.5)."""
        num_classes = len(self.tp)
        fixed = np.ldexp(ious, IOU_BITS).astype(np.int64)
        self.tp += np.bincount(classes, minlength=num_classes)
        # each part sum stays below 2**53, so the float bincount is exact
        self.iou_high += np.bincount(classes, weights=fixed >> _LOW_BITS,
                                     minlength=num_classes).astype(np.int64)
        self.iou_low += np.bincount(classes, weights=fixed & ((1 << _LOW_BITS) - 1),
                                    minlength=num_classes).astype(np.int64)

    def iou_sums(self):
        """Per-class IoU sums (float64, correctly rounded from the exact sums)."""
        return [((int(h) << _LOW_BITS) + int(lo)) / (1 << IOU_BITS)
                for h, lo in zip(self.iou_high, self.iou_low)]

    def per_class(self):
        """``[{'PQ', 'SQ', 'RQ', 'IoU', 'TP', 'FP', 'FN'}]`` per class; the ratios are None for
        a class without TP, FP and FN (as panopticapi, SQ is 0 when TP is 0)."""
        rows = []
        for iou, tp, fp, fn in zip(self.iou_sums(), self.tp.tolist(), self.fp.tolist(),
                                   self.fn.tolist()):
            row = dict(PQ=None, SQ=None, RQ=None, IoU=iou, TP=tp, FP=fp, FN=fn)
            if tp + fp + fn > 0:
                denominator = tp + 0.5 * fp + 0.5 * fn
                row.update(PQ=iou / denominator, SQ=iou / tp if tp else 0.0,
                           RQ=tp / denominator)
            rows.append(row)
        return rows

    def averages(self, isthing, key='PQ'):
        """Means of ``key`` over the classes with TP + FP + FN > 0 for All / Things / Stuff
        (separate means; an empty group is None)."""
        rows = self.per_class()
        result = {}
        for group, keep in (('all', None), ('things', True), ('stuff', False)):
            values = [row[key] for row, thing in zip(rows, isthing)
                      if row[key] is not None and (keep is None or thing == keep)]
            total = 0.0
            for value in values:  # sequential, as panopticapi's pq_average
                total += value
            result[group] = total / len(values) if values else None
        return result


def match_tubes(gt_codes, pred_codes, counts, prefix_ends, num_classes, isthing,
                results):
    """Match the tubes of several nested windows and add their counts to ``results``.

    Args:
        gt_codes, pred_codes, counts (np.ndarray): the pair statistics of the frames of the
            largest window, newest frame first.
        prefix_ends (list[int]): for each window, the number of leading entries it covers (the
            window of n frames is the n newest frames).
        num_classes (int): number of classes C (void code class is C).
        isthing (np.ndarray): bool per class ``0..C``.
        results (list[PanopticCounts]): one per window, updated in place.
    """
    gt_uniq, gt_idx = np.unique(gt_codes, return_inverse=True)
    pred_uniq, pred_idx = np.unique(pred_codes, return_inverse=True)
    pairs, pair_idx = np.unique(gt_idx * len(pred_uniq) + pred_idx, return_inverse=True)
    pair_gt, pair_pred = np.divmod(pairs, len(pred_uniq))

    gt_sem, pred_sem = code_sem(gt_uniq), code_sem(pred_uniq)
    gt_void, pred_void = gt_sem == num_classes, pred_sem == num_classes
    gt_crowd = isthing[gt_sem] & (code_inst(gt_uniq) == 0)
    same_class = gt_sem[pair_gt] == pred_sem[pair_pred]
    candidate = same_class & ~gt_void[pair_gt] & ~gt_crowd[pair_gt] & ~pred_void[pair_pred]
    on_void = gt_void[pair_gt]
    on_own_crowd = gt_crowd[pair_gt] & same_class

    for end, result in zip(prefix_ends, results):
        weights = counts[:end].astype(np.float64)
        gt_area = np.bincount(gt_idx[:end], weights, minlength=len(gt_uniq))
        pred_area = np.bincount(pred_idx[:end], weights, minlength=len(pred_uniq))
        inter = np.bincount(pair_idx[:end], weights, minlength=len(pairs))
        void_inter = np.bincount(pair_pred[on_void], inter[on_void], minlength=len(pred_uniq))
        crowd_inter = np.bincount(pair_pred[on_own_crowd], inter[on_own_crowd],
                                  minlength=len(pred_uniq))

        cand = np.flatnonzero(candidate & (inter > 0))
        union = (pred_area[pair_pred[cand]] + gt_area[pair_gt[cand]] - inter[cand]
                 - void_inter[pair_pred[cand]])
        iou = inter[cand] / union
        matched = cand[iou > 0.5]
        result.add_matches(gt_sem[pair_gt[matched]], iou[iou > 0.5])

        gt_left = (gt_area > 0) & ~gt_void & ~gt_crowd
        gt_left[pair_gt[matched]] = False
        result.fn += np.bincount(gt_sem[gt_left], minlength=num_classes)

        pred_left = (pred_area > 0) & ~pred_void
        pred_left[pair_pred[matched]] = False
        excused = (void_inter + crowd_inter) / np.maximum(pred_area, 1) > 0.5
        result.fp += np.bincount(pred_sem[pred_left & ~excused], minlength=num_classes)
        result.num_windows += 1


def match_segment_tubes(frames, num_classes, result):
    """Match the tubes of one window of COCO-panoptic frames as the official scripts do
    (panopticapi for one frame; Cityscapes-VPS ``eval_vpq.py`` and VIPSeg ``eval_vpq_vspw.py``
    for n frames), and add the counts to ``result``.

    A tube is one segment id. Its category and crowd flag are those of its first listing in the
    window (oldest frame first, then ``segments_info`` order), its area is summed over the
    window; a listed GT segment absent from the PNG is a tube of area 0 (an FN unless crowd).
    Two segments of one stuff category are two tubes, and a prediction's ``iscrowd`` is never
    read. An unmatched prediction is excused by its overlap with void plus the one GT crowd tube
    of its category listed last in the window (the scripts keep a dict per category).

    Args:
        frames (list[tuple]): oldest frame first, each ``(gt_ids, gt_sem, gt_crowd, gt_area,
            pred_ids, pred_sem, pred_area, pair_gt_ids, pair_pred_ids, pair_counts)``: the
            frame's segments in listing order (ids > 0, class indices, areas) and its
            overlapping (GT id, predicted id) pairs with id 0 for void.
        num_classes (int): number of classes C.
        result (PanopticCounts): updated in place.
    """

    def cat(k):
        return np.concatenate([f[k] for f in frames])

    gt_ids, gt_sem, gt_crowd, gt_area = cat(0), cat(1), cat(2), cat(3)
    pred_ids, pred_sem, pred_area = cat(4), cat(5), cat(6)
    pair_gt, pair_pred, pair_count = cat(7), cat(8), cat(9).astype(np.float64)

    g_uniq, g_first, g_inv = np.unique(gt_ids, return_index=True, return_inverse=True)
    g_cat, g_crowd = gt_sem[g_first], gt_crowd[g_first]
    g_area = np.bincount(g_inv, gt_area.astype(np.float64), minlength=len(g_uniq))
    p_uniq, p_first, p_inv = np.unique(pred_ids, return_index=True, return_inverse=True)
    p_cat = pred_sem[p_first]
    p_area = np.bincount(p_inv, pred_area.astype(np.float64), minlength=len(p_uniq))

    on_pred = pair_pred > 0
    p_idx = np.searchsorted(p_uniq, pair_pred)
    void_inter = np.bincount(p_idx[on_pred & (pair_gt == 0)],
                             pair_count[on_pred & (pair_gt == 0)], minlength=len(p_uniq))
    both = on_pred & (pair_gt > 0)
    g_idx = np.searchsorted(g_uniq, pair_gt[both])
    p_idx = p_idx[both]
    pairs, pair_inv = np.unique(g_idx * len(p_uniq) + p_idx, return_inverse=True)
    inter = np.bincount(pair_inv, pair_count[both], minlength=len(pairs))
    g_idx, p_idx = np.divmod(pairs, len(p_uniq))

    cand = np.flatnonzero(~g_crowd[g_idx] & (g_cat[g_idx] == p_cat[p_idx]))
    union = p_area[p_idx[cand]] + g_area[g_idx[cand]] - inter[cand] - void_inter[p_idx[cand]]
    iou = inter[cand] / union
    hit = iou > 0.5
    matched = cand[hit]
    result.add_matches(g_cat[g_idx[matched]], iou[hit])

    g_left = ~g_crowd
    g_left[g_idx[matched]] = False
    result.fn += np.bincount(g_cat[g_left], minlength=num_classes)

    crowd_of_class = np.full(num_classes, -1, np.int64)
    for g in sorted(np.flatnonzero(g_crowd).tolist(), key=lambda g: g_first[g]):
        crowd_of_class[g_cat[g]] = g  # the last listed crowd tube of the class wins
    on_crowd = g_idx == crowd_of_class[p_cat[p_idx]]
    crowd_inter = np.bincount(p_idx[on_crowd], inter[on_crowd], minlength=len(p_uniq))
    p_left = np.ones(len(p_uniq), bool)
    p_left[p_idx[matched]] = False
    excused = (void_inter + crowd_inter) / np.maximum(p_area, 1) > 0.5
    result.fp += np.bincount(p_cat[p_left & ~excused], minlength=num_classes)
    result.num_windows += 1

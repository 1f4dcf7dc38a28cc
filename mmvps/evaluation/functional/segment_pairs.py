"""One vectorised count per frame: the pixel overlap of every (GT segment, predicted segment) pair.

Everything the panoptic metrics need (segment areas, void and crowd overlaps, the semantic
confusion of STQ) is a sum over these pairs, so PQ, every VPQ window and STQ are computed from
the same few dozen numbers per frame instead of re-reading the pixels.

A segment is named by a *code* ``sem << 32 | inst`` (int64). Codes are canonical: void (any
``sem >= num_classes``) is ``(num_classes, 0)`` and stuff has instance 0, so codes compare
across frames (a stuff class or a track has one code per video).
"""
import numpy as np

CODE_SHIFT = 32
INST_MASK = (1 << CODE_SHIFT) - 1
_INT64_LIMIT = 1 << 63


def code_sem(codes):
    """Semantic label of segment codes."""
    return codes >> CODE_SHIFT


def code_inst(codes):
    """Instance id of segment codes."""
    return codes & INST_MASK


def checked_label_map(arr, limit, what, where):
    """``(arr, max value)`` for an integer map with values in ``0..limit``, else a clear error.

    One ``max()`` checks both ends: a negative value viewed as unsigned is larger than any
    limit."""
    arr = np.asarray(arr)
    if arr.dtype.kind not in 'iu':
        raise TypeError(f'{where}: the {what} map must hold integers, got dtype {arr.dtype}')
    if arr.size == 0:
        raise ValueError(f'{where}: the {what} map is empty')
    unsigned = arr.view(f'u{arr.dtype.itemsize}') if arr.dtype.kind == 'i' else arr
    hi = int(unsigned.max())
    if hi > limit:
        lo, hi = int(arr.min()), int(arr.max())
        raise ValueError(f'{where}: the {what} map has the value {lo if lo < 0 else hi}, '
                         f'outside 0..{limit}')
    return arr.astype(np.int64) if arr.dtype == np.uint64 else arr, hi


def _unique_counts(key):
    """``np.unique(key, return_counts=True)`` that sorts ``key`` (a temporary) in place."""
    key = key.ravel()
    key.sort()
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    return key[starts], np.diff(np.append(starts, key.size))


def _raw_keys(sem, inst, sem_span):
    """Per-pixel key ``inst * sem_span + sem`` (int64)."""
    key = np.multiply(inst, sem_span, dtype=np.int64)
    key += sem
    return key


def count_segment_pairs(gt_sem, gt_inst, pred_sem, pred_inst, num_classes, isthing, void,
                        where='frame'):
    """Overlap counts of the (GT segment, predicted segment) pairs of one frame.

    Args:
        gt_sem, gt_inst, pred_sem, pred_inst (np.ndarray): integer maps of one shape. Semantic
            labels are ``0..num_classes-1``; GT void is ``void``, predicted void is ``void`` or
            ``num_classes``. Instance ids are >= 0 and ignored on stuff and void.
        num_classes (int): number of classes C.
        isthing (np.ndarray): bool, ``isthing[c]`` for ``c`` in ``0..C`` (``C`` = void, False).
        void (int): the void label (>= C).
        where (str): names the frame in error messages.

    Returns:
        tuple[np.ndarray]: ``(gt_codes, pred_codes, counts)``, one entry per overlapping pair
        (a pair may repeat when raw labels collapse to one canonical code; consumers sum).
    """
    sem_limit = max(void, num_classes)
    gs, gs_max = checked_label_map(gt_sem, sem_limit, 'ground-truth semantic', where)
    gi, gi_max = checked_label_map(gt_inst, INST_MASK, 'ground-truth instance', where)
    ps, ps_max = checked_label_map(pred_sem, sem_limit, 'predicted semantic', where)
    pi, pi_max = checked_label_map(pred_inst, INST_MASK, 'predicted instance', where)
    if not gs.shape == gi.shape == ps.shape == pi.shape:
        raise ValueError(f'{where}: the maps differ in shape: ground truth {gs.shape} / '
                         f'{gi.shape}, prediction {ps.shape} / {pi.shape}')

    g_span, p_span = gs_max + 1, ps_max + 1
    pred_range = p_span * (pi_max + 1)
    if g_span * (gi_max + 1) * pred_range < _INT64_LIMIT:
        # One key per pixel for the whole (gt label, gt id, pred label, pred id) tuple.
        key = _raw_keys(gs, gi, g_span)
        key *= pred_range
        key += _raw_keys(ps, pi, p_span)
        keys, counts = _unique_counts(key)
        g_key, p_key = np.divmod(keys, pred_range)
    else:  # ids too large to pack: compact each side first
        g_uniq, g_idx = np.unique(_raw_keys(gs, gi, g_span), return_inverse=True)
        p_uniq, p_idx = np.unique(_raw_keys(ps, pi, p_span), return_inverse=True)
        keys, counts = _unique_counts(g_idx * len(p_uniq) + p_idx)
        g_key, p_key = g_uniq[keys // len(p_uniq)], p_uniq[keys % len(p_uniq)]

    g_inst, g_sem = np.divmod(g_key, g_span)
    p_inst, p_sem = np.divmod(p_key, p_span)
    return pair_codes(g_sem, g_inst, p_sem, p_inst, num_classes, isthing, void, where) + (counts, )


def count_index_pairs(gt_index, pred_index, gt_size, pred_size):
    """Overlap counts of two maps of small region indices (``0..gt_size-1``,
    ``0..pred_size-1``), e.g. the position of each pixel's segment in a COCO-panoptic
    ``segments_info``: one ``np.bincount`` over the combined index, no sort.

    Returns ``(gt indices, pred indices, counts)`` of the overlapping pairs."""
    gt_index, _ = checked_label_map(gt_index, gt_size - 1, 'ground-truth index', 'index pairs')
    pred_index, _ = checked_label_map(pred_index, pred_size - 1, 'predicted index', 'index pairs')
    if gt_index.shape != pred_index.shape:
        raise ValueError(f'index maps differ in shape: {gt_index.shape} vs {pred_index.shape}')
    key = np.multiply(gt_index, pred_size, dtype=np.int64)
    key += pred_index
    bins = gt_size * pred_size
    if bins <= max(key.size, 1 << 16):
        counts = np.bincount(key.ravel(), minlength=bins)
        keys = np.flatnonzero(counts)
        counts = counts[keys]
    else:  # too many possible pairs for a dense count
        keys, counts = _unique_counts(key)
    gt_idx, pred_idx = np.divmod(keys, pred_size)
    return gt_idx, pred_idx, counts


def pair_codes(gt_sem, gt_inst, pred_sem, pred_inst, num_classes, isthing, void, where='frame'):
    """Canonical ``(gt codes, pred codes)`` of counted pairs given by their labels (one entry
    per pair), after checking that every label is a class or void."""
    gt_sem, gt_inst, pred_sem, pred_inst = (
        np.asarray(a, dtype=np.int64) for a in (gt_sem, gt_inst, pred_sem, pred_inst))
    bad = ((gt_sem >= num_classes) & (gt_sem != void)) | (gt_sem < 0)
    if bad.any():
        raise ValueError(f'{where}: the ground-truth semantic map has label {gt_sem[bad][0]}, '
                         f'neither a class (0..{num_classes - 1}) nor void ({void})')
    bad = ((pred_sem > num_classes) & (pred_sem != void)) | (pred_sem < 0)
    if bad.any():
        raise ValueError(f'{where}: the predicted semantic map has label {pred_sem[bad][0]}, '
                         f'neither a class (0..{num_classes - 1}) nor void ({num_classes} or '
                         f'{void})')
    for inst, what in ((gt_inst, 'ground-truth'), (pred_inst, 'predicted')):
        bad = (inst < 0) | (inst > INST_MASK)
        if bad.any():
            raise ValueError(f'{where}: the {what} instance map has the value {inst[bad][0]}, '
                             f'outside 0..{INST_MASK}')
    return (canonical_codes(gt_sem, gt_inst, num_classes, isthing),
            canonical_codes(pred_sem, pred_inst, num_classes, isthing))


def canonical_codes(sem, inst, num_classes, isthing):
    """Segment codes with void mapped to ``(C, 0)`` and stuff instances dropped."""
    sem = np.minimum(sem, num_classes)
    inst = np.where(isthing[sem], inst, 0)
    return (sem << CODE_SHIFT) | inst


def sum_by_code(codes, values):
    """``(unique codes, summed values)``; sums are float64 (exact below 2**53)."""
    uniq, inverse = np.unique(codes, return_inverse=True)
    return uniq, np.bincount(inverse, weights=values, minlength=len(uniq))


def sum_by_pair(codes_a, codes_b, values):
    """``(codes a, codes b, summed values)`` over the unique ``(a, b)`` pairs."""
    uniq_a, idx_a = np.unique(codes_a, return_inverse=True)
    uniq_b, idx_b = np.unique(codes_b, return_inverse=True)
    pairs, inverse = np.unique(idx_a * len(uniq_b) + idx_b, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(pairs))
    return uniq_a[pairs // len(uniq_b)], uniq_b[pairs % len(uniq_b)], sums

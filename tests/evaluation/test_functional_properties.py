"""Properties of the metric core on random small videos (hypothesis), and a cross-check against a
direct pixel-loop implementation of the spec (``shared/spec/metrics.md``).

What the spec implies under frame reordering inside a video:

* image PQ, STQ / AQ / IoU and mIoU are sums over frames: any permutation leaves them unchanged;
  VPQ(n=1) is image PQ, so it is unchanged too;
* VPQ(n>1) pools windows of consecutive frames: a permutation may change it, but reversing the
  video maps every window onto a window, so reversal leaves every VPQ(n) unchanged;
* mVC_n with the last window included is likewise reversal-invariant (the default skips the
  last window, which reversal turns into the first one).
"""
import pickle
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmvps.evaluation.functional import (VideoPanopticAccumulator, VideoSemSegAccumulator,
                                         count_index_pairs)

VOID = 255
CATEGORIES = [
    dict(id=0, name='road', isthing=0),
    dict(id=1, name='person', isthing=1),
    dict(id=2, name='sky', isthing=0),
    dict(id=3, name='car', isthing=1),
    dict(id=4, name='wall', isthing=0),
]
C = len(CATEGORIES)
THINGS = {c['id'] for c in CATEGORIES if c['isthing']}
WINDOWS = (1, 2, 3, 5)
DTYPES = (np.int32, np.int64, np.uint8, np.uint16)


def make_videos(seed, num_videos, max_len, noise):
    """Random blocky videos ``{name: (gt_sem, gt_inst, pred_sem, pred_inst)}``: GT with stuff,
    tracks, crowd (thing instance 0), void and junk stuff instances; a noisy prediction with
    class / id errors, predicted void (255 or C) and thing instance 0."""
    rng = np.random.default_rng(seed)
    videos = {}
    for v in range(num_videos):
        T = int(rng.integers(1, max_len + 1))
        h, w = (int(x) for x in rng.integers(2, 5, 2))
        sem = np.repeat(rng.integers(0, C, (1, h, w)), T, 0)
        inst = np.repeat(rng.integers(0, 4, (1, h, w)), T, 0)
        moved = rng.random((T, h, w)) < 0.2
        sem[moved] = rng.integers(0, C, moved.sum())
        sem[rng.random((T, h, w)) < 0.1] = VOID
        ps, pi = sem.copy(), inst.copy()
        wrong = rng.random((T, h, w)) < noise
        ps[wrong] = rng.integers(0, C, wrong.sum())
        relabel = rng.random((T, h, w)) < noise
        pi[relabel] = rng.integers(0, 6, relabel.sum())
        ps[rng.random((T, h, w)) < noise / 3] = rng.choice([VOID, C])
        up = [np.kron(a, np.ones((1, 2, 3), np.int64)) for a in (sem, inst, ps, pi)]
        up[1][~np.isin(up[0], list(THINGS))] = rng.integers(0, 3)  # junk stuff / void ids
        dtype = DTYPES[v % len(DTYPES)]
        videos[f'v{v}'] = tuple(a.astype(dtype) for a in up)
    return videos


def panoptic(videos, windows=WINDOWS, accumulator=None, **kwargs):
    acc = accumulator or VideoPanopticAccumulator(CATEGORIES, VOID, windows, **kwargs)
    for name, maps in videos.items():
        for t in range(len(maps[0])):
            acc.update(name, *(m[t] for m in maps))
    return acc


def semseg(videos, accumulator=None, **kwargs):
    acc = accumulator or VideoSemSegAccumulator(C, VOID, vc_windows=(2, 3), **kwargs)
    for name, (gs, _, ps, _) in videos.items():
        for t in range(len(gs)):
            acc.update(name, gs[t], np.minimum(ps[t], C - 1))
    return acc


def assert_close(a, b, path='result', tol=1e-12):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for key in a:
            assert_close(a[key], b[key], f'{path}.{key}', tol)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f'{path}[{i}]', tol)
    elif a is None or b is None or isinstance(a, int):
        assert a == b, f'{path}: {a} != {b}'
    else:
        assert abs(a - b) < tol, f'{path}: {a} != {b}'


videos_strategy = st.builds(make_videos, seed=st.integers(0, 2**32 - 1),
                            num_videos=st.integers(1, 3), max_len=st.integers(1, 7),
                            noise=st.sampled_from([0.0, 0.1, 0.3, 0.6]))


# ---------------------------------------------------------------------------- properties
@settings(max_examples=30, deadline=None)
@given(videos_strategy)
def test_prediction_equal_to_gt_scores_one(videos):
    perfect = {n: (gs, gi, gs, gi) for n, (gs, gi, _, _) in videos.items()}
    result = panoptic(perfect).compute()
    values = [result['PQ'][g] for g in result['PQ']] + [
        v[g] for v in result['VPQ'].values() if v for g in v]
    assert all(v == 1.0 for v in values if v is not None)
    assert result['IoU'] == 1.0
    has_tube = any((np.isin(gs, list(THINGS)) & (gi > 0)).any()
                   for gs, gi, _, _ in perfect.values())
    assert result['AQ'] == (1.0 if has_tube else 0.0) or abs(result['AQ'] - 1.0) < 1e-12
    sem = semseg(perfect).compute()
    assert sem['mIoU'] == 1.0
    assert all(sem[k] in (None, 1.0) for k in ('mVC2', 'mVC3'))


@settings(max_examples=30, deadline=None)
@given(videos_strategy, st.integers(0, 2**32 - 1))
def test_renaming_instance_ids_consistently_changes_nothing(videos, seed):
    rng = np.random.default_rng(seed)
    renamed = {}
    for name, (gs, gi, ps, pi) in videos.items():
        # GT: a permutation of the track ids 1..3 (0 stays crowd); prediction: any injective
        # map of (class, id), instance 0 included, to new ids
        gt_ids = np.concatenate([[0], rng.permutation(3) + 1, [4, 5]])
        pred_ids = rng.permutation(100)[:6] + 7
        renamed[name] = (gs, gt_ids[gi].astype(gi.dtype), ps, pred_ids[pi].astype(np.int64))
    assert_close(panoptic(videos).compute(), panoptic(renamed).compute())


@settings(max_examples=30, deadline=None)
@given(videos_strategy, st.integers(0, 2**32 - 1), st.booleans())
def test_split_and_merge_gives_identical_numbers(videos, seed, compat):
    """Any split of the videos over two accumulators (pickled, as mmengine gathers them) gives
    bit-identical results."""
    names = list(videos)
    first = set(np.random.default_rng(seed).permutation(names)[:len(names) // 2])
    parts = [{n: videos[n] for n in names if (n in first) == side} for side in (True, False)]
    whole = panoptic(videos, stq_vipseg_script_compat=compat).compute()
    merged = VideoPanopticAccumulator(CATEGORIES, VOID, WINDOWS, stq_vipseg_script_compat=compat)
    for part in parts[::-1]:
        merged.merge(pickle.loads(pickle.dumps(panoptic(part, stq_vipseg_script_compat=compat))))
    assert merged.compute() == whole

    sem_whole = semseg(videos).compute()
    sem_merged = VideoSemSegAccumulator(C, VOID, vc_windows=(2, 3))
    for part in parts:
        sem_merged.merge(pickle.loads(pickle.dumps(semseg(part))))
    assert sem_merged.compute() == sem_whole


@settings(max_examples=30, deadline=None)
@given(videos_strategy, st.integers(0, 2**32 - 1))
def test_frame_order_invariances(videos, seed):
    rng = np.random.default_rng(seed)
    reversed_ = {n: tuple(m[::-1] for m in maps) for n, maps in videos.items()}
    permuted = {}
    for n, maps in videos.items():
        order = rng.permutation(len(maps[0]))
        permuted[n] = tuple(m[order] for m in maps)
    base = panoptic(videos).compute()

    assert_close(panoptic(reversed_).compute(), base)  # every window maps onto a window
    result = panoptic(permuted).compute()
    for key in ('PQ', 'SQ', 'RQ', 'STQ', 'AQ', 'IoU', 'per_video'):
        assert_close(result[key], base[key], key)
    assert_close(result['VPQ']['n=1'], base['VPQ']['n=1'], 'VPQ n=1')

    sem_base = semseg(videos, vc_include_last_window=True).compute()
    assert_close(semseg(reversed_, vc_include_last_window=True).compute(), sem_base)
    assert semseg(permuted).compute()['mIoU'] == semseg(videos).compute()['mIoU']


def test_frame_permutation_may_change_vpq_of_longer_windows():
    """The invariance above is exact for n = 1 only: an id switch in the middle of a video
    spoils one of its three n=2 windows (TP 2, FP 2, FN 1: PQ 2 / 3.5); interleaving the frames
    makes every n=2 window switch ids (IoU 0.5 twice: no match at all)."""
    gs = np.zeros((4, 2, 2), np.int64)
    gs[:, 0, 0] = 1
    gi = np.where(gs == 1, 1, 0)
    pi = gi.copy()
    pi[2:] *= 2  # predicted id 1 -> 2 from frame 2
    video = {'v': (gs, gi, gs, pi)}
    interleaved = {'v': tuple(m[[0, 2, 1, 3]] for m in video['v'])}
    a, b = panoptic(video).compute(), panoptic(interleaved).compute()
    assert a['VPQ']['n=1'] == b['VPQ']['n=1']
    assert a['VPQ']['n=2']['things'] == 2 / 3.5 and b['VPQ']['n=2']['things'] == 0.0


# ------------------------------------------------------------ direct implementation of the spec
def _segment(sem, inst, crowd_is_segment):
    """Spec segment identity of one pixel: None for void (and GT crowd unless asked)."""
    if sem >= C:
        return None
    if sem not in THINGS:
        return (sem, 0)
    return (sem, inst) if inst > 0 or crowd_is_segment else ('crowd', sem)


def spec_vpq(videos, n):
    """Tube PQ with windows of n frames, pixel by pixel as the spec states it."""
    iou_sum, tp, fp, fn = Counter(), Counter(), Counter(), Counter()
    windows = 0
    for gs, gi, ps, pi in videos.values():
        for start in range(len(gs) - n + 1):
            windows += 1
            g_area, p_area, inter = Counter(), Counter(), Counter()
            for t in range(start, start + n):
                for y, x in np.ndindex(gs.shape[1:]):
                    g = _segment(int(gs[t, y, x]), int(gi[t, y, x]), False)
                    p = _segment(int(ps[t, y, x]), int(pi[t, y, x]), True)
                    g_area[g] += 1
                    p_area[p] += 1
                    inter[g, p] += 1
            matched_g, matched_p = set(), set()
            for (g, p), i in inter.items():
                if g is None or p is None or g[0] == 'crowd' or g[0] != p[0]:
                    continue
                iou = i / (p_area[p] + g_area[g] - i - inter[None, p])
                if iou > 0.5:
                    tp[g[0]] += 1
                    iou_sum[g[0]] += iou
                    matched_g.add(g)
                    matched_p.add(p)
            for g in g_area:
                if g is not None and g[0] != 'crowd' and g not in matched_g:
                    fn[g[0]] += 1
            for p in p_area:
                if p is None or p in matched_p:
                    continue
                ignored = inter[None, p] + inter[('crowd', p[0]), p]
                if not ignored / p_area[p] > 0.5:
                    fp[p[0]] += 1
    if not windows:
        return None
    groups = {}
    for group, keep in (('all', lambda c: True), ('things', lambda c: c in THINGS),
                        ('stuff', lambda c: c not in THINGS)):
        pqs = [iou_sum[c] / (tp[c] + fp[c] / 2 + fn[c] / 2) for c in range(C)
               if keep(c) and tp[c] + fp[c] + fn[c]]
        groups[group] = sum(pqs) / len(pqs) if pqs else None
    return groups


def spec_stq(videos):
    """deeplab2 STQ as the spec states it: per-sequence AQ over GT tubes, IoU over one
    confusion matrix with the void row dropped."""
    confusion = np.zeros((C + 1, C + 1), np.int64)
    aq_total, tubes_total = 0.0, 0
    for gs, gi, ps, pi in videos.values():
        g_area, p_area, inter = Counter(), Counter(), Counter()
        for idx in np.ndindex(gs.shape):
            g_sem, p_sem = min(int(gs[idx]), C), min(int(ps[idx]), C)
            if g_sem < C:
                confusion[g_sem, p_sem] += 1
            crowd = g_sem in THINGS and gi[idx] == 0
            g = (g_sem, int(gi[idx])) if g_sem in THINGS and not crowd else None
            p = (p_sem, int(pi[idx])) if p_sem in THINGS and not crowd else None
            g_area[g] += 1
            p_area[p] += 1
            inter[g, p] += 1
        tubes = [g for g in g_area if g is not None]
        for g in tubes:
            aq_total += sum(i * i / (p_area[p] + g_area[g] - i) for (gg, p), i in inter.items()
                            if gg == g and p is not None) / g_area[g]
        tubes_total += len(tubes)
    aq = aq_total / max(tubes_total, 1e-15)
    union = confusion.sum(0) + confusion.sum(1) - np.diag(confusion)
    iou = np.mean(np.diag(confusion)[union > 0] / union[union > 0])
    return aq, iou


def spec_semseg(videos, n, include_last):
    confusion = np.zeros((C, C), np.int64)
    vcs = []
    for gs, _, ps, _ in videos.values():
        ps = np.minimum(ps, C - 1)
        for t in range(len(gs)):
            labelled = gs[t] < C
            np.add.at(confusion, (gs[t][labelled], ps[t][labelled]), 1)
        for start in range(len(gs) - n + (1 if include_last else 0)):
            g = (gs[start:start + n] == gs[start]).all(0)
            p = (ps[start:start + n] == ps[start]).all(0)
            if g.sum():
                vcs.append((g & p).sum() / g.sum())
    present = confusion.sum(1) > 0
    union = confusion.sum(0) + confusion.sum(1) - np.diag(confusion)
    miou = np.mean(np.diag(confusion)[present] / union[present]) if present.any() else None
    return miou, (np.mean(vcs) if vcs else None)


@settings(max_examples=30, deadline=None)
@given(videos_strategy, st.booleans())
def test_counted_segment_pairs_give_the_label_map_numbers(videos, sparse):
    """``update_pairs`` on pairs counted from segment-index maps (the offline scorer's
    COCO-panoptic path) equals ``update`` on the label maps, on every number."""
    from_pairs = VideoPanopticAccumulator(CATEGORIES, VOID, WINDOWS)
    for name, maps in videos.items():
        for t in range(len(maps[0])):
            sides = []
            for sem, inst in ((maps[0][t], maps[1][t]), (maps[2][t], maps[3][t])):
                # segments listed in random order, padded with unused entries
                segments, index = np.unique(np.stack([sem, inst], -1).reshape(-1, 2), axis=0,
                                            return_inverse=True)
                order = np.random.default_rng(t).permutation(len(segments))
                pad = 2000 if sparse else 1  # many entries take count_index_pairs' sort path
                table = np.zeros((len(segments) + pad, 2), np.int64)
                table[order] = segments
                sides.append((order[index.ravel()].reshape(sem.shape), table))
            (gt_index, gt_table), (pred_index, pred_table) = sides
            gt_pos, pred_pos, counts = count_index_pairs(gt_index, pred_index, len(gt_table),
                                                         len(pred_table))
            from_pairs.update_pairs(name, *gt_table[gt_pos].T, *pred_table[pred_pos].T, counts)
    assert_close(from_pairs.compute(), panoptic(videos).compute())


def test_count_index_pairs_by_hand():
    gt = np.array([[1, 1, 2], [3, 3, 3]], np.uint16)
    pred = np.array([[0, 1, 1], [1, 2, 2]], np.uint16)
    for pred_size in (3, 70000):  # dense bincount, then the sparse path
        g, p, counts = count_index_pairs(gt, pred, 4, pred_size)
        assert dict(zip(zip(g.tolist(), p.tolist()), counts.tolist())) == {
            (1, 0): 1, (1, 1): 1, (2, 1): 1, (3, 1): 1, (3, 2): 2}
    with pytest.raises(ValueError, match='predicted index map has the value 2, outside 0..1'):
        count_index_pairs(gt, pred, 4, 2)
    with pytest.raises(ValueError, match='differ in shape'):
        count_index_pairs(gt, pred[:1], 4, 3)


@settings(max_examples=25, deadline=None)
@given(videos_strategy)
def test_agrees_with_a_direct_implementation_of_the_spec(videos):
    result = panoptic(videos).compute()
    for n in WINDOWS:
        assert_close(result['VPQ'][f'n={n}'], spec_vpq(videos, n), f'VPQ n={n}', 1e-12)
    assert_close(result['PQ'], spec_vpq(videos, 1), 'PQ')
    aq, iou = spec_stq(videos)
    assert_close(result['AQ'], aq, 'AQ')
    assert_close(result['IoU'], iou, 'IoU')
    for include_last in (False, True):
        sem = semseg(videos, vc_include_last_window=include_last).compute()
        for n in (2, 3):
            miou, mvc = spec_semseg(videos, n, include_last)
            assert_close(sem['mIoU'], miou, 'mIoU')
            assert_close(sem[f'mVC{n}'], mvc, f'mVC{n}')


def _segments(sem, inst, gt):
    """One frame of label maps as COCO-panoptic segments in the label-map convention: one
    segment per stuff class, a thing per ``(class, instance)``, GT thing instance 0 as crowd;
    listed stuff first, then things by class and instance (as the VIPSeg files list them).
    Returns ``(ids, sem, crowd)`` and each pixel's position (-1 void)."""
    sem, inst = sem.astype(np.int64), inst.astype(np.int64)
    thing = np.isin(sem, list(THINGS))
    ids = np.where(sem >= C, 0, sem * 64 + np.where(thing, inst, 0) + 1)
    listed = np.unique(ids[ids > 0])
    cats = (listed - 1) // 64
    order = np.lexsort((listed, np.isin(cats, list(THINGS))))
    listed, cats = listed[order], cats[order]
    crowd = np.isin(cats, list(THINGS)) & ((listed - 1) % 64 == 0) & gt
    pos = np.full(ids.shape, -1)
    for k, sid in enumerate(listed.tolist()):
        pos[ids == sid] = k
    return (listed, cats, crowd), pos


@settings(max_examples=30, deadline=None)
@given(videos_strategy, st.booleans())
def test_segments_give_the_label_map_numbers(videos, compat):
    """``update_segments`` (the official scripts' reading of COCO-panoptic files) equals
    ``update`` on every input the label-map convention can express."""
    acc = VideoPanopticAccumulator(CATEGORIES, VOID, WINDOWS, stq_vipseg_script_compat=compat)
    for name, maps in videos.items():
        for t in range(len(maps[0])):
            (gt_ids, gt_cats, gt_crowd), gt_pos = _segments(maps[0][t], maps[1][t], True)
            (pred_ids, pred_cats, _), pred_pos = _segments(maps[2][t], maps[3][t], False)
            pairs, counts = np.unique(np.stack([gt_pos.ravel(), pred_pos.ravel()]), axis=1,
                                      return_counts=True)
            gt_area = np.bincount(gt_pos[gt_pos >= 0], minlength=len(gt_ids))
            pred_area = np.bincount(pred_pos[pred_pos >= 0], minlength=len(pred_ids))
            acc.update_segments(name, (gt_ids, gt_cats, gt_crowd, gt_area),
                                (pred_ids, pred_cats, pred_area), (pairs[0], pairs[1], counts))
    assert_close(acc.compute(), panoptic(videos, stq_vipseg_script_compat=compat).compute())


def test_update_segments_checks_its_input():
    acc = VideoPanopticAccumulator(CATEGORIES, VOID, WINDOWS)
    good = (([1], [0], [False], [2]), ([5], [0], [2]), ([0], [0], [2]))
    acc.update_segments('v', *good)
    with pytest.raises(ValueError, match="video 'v' frame 1: ground-truth segment ids must be "
                       'unique'):
        acc.update_segments('v', ([1, 1], [0, 0], [0, 0], [1, 1]), *good[1:])
    with pytest.raises(ValueError, match='predicted areas must be positive'):
        acc.update_segments('v', good[0], ([5], [0], [0]), good[2])
    with pytest.raises(ValueError, match='pair positions must index'):
        acc.update_segments('v', good[0], good[1], ([3], [0], [2]))
    with pytest.raises(ValueError, match='cannot share a video'):
        acc.update('v', *(np.zeros((1, 2), np.int64), ) * 4)
    with pytest.raises(ValueError, match=r'ground-truth segment classes must lie in 0..4'):
        acc.update_segments('w', ([1, 2], [0, 7], [0, 0], [2, 0]), *good[1:])

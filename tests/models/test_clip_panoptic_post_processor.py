"""Mask-wise merging over a clip on hand-made logits."""
import pytest
import torch

from mmvps.models.heads.kmax import ClipPanopticPostProcessor
from mmvps.registry import TASK_UTILS
from mmvps.utils import register_all_modules

# C = 3 classes: thing 0, stuff 1 and 2 (void column last). 5 queries:
# q0 thing 0.9, q1 stuff-1 0.8, q2 stuff-1 0.75, q3 thing 0.95, q4 thing 0.5
CLASS_PROBS = torch.tensor([[.9, .04, .03, .03], [.05, .8, .1, .05], [.05, .75, .1, .1],
                            [.95, .02, .02, .01], [.5, .2, .2, .1]])


def hand_clip():
    """Mask-ID probabilities [5, T=2, 1, 4] (each pixel sums to 1 over the queries).

    frame 0: w0 q0 .9 | w1 q0 .5, q3 .45 | w2 q1 .9 | w3 q4 .9
    frame 1: w0 q0 .9 | w1 q3 .9         | w2 q2 .9 | w3 nobody above .4
    """
    probs = torch.full((5, 2, 1, 4), 0.025)
    owners = {(0, 0): [(0, .9)], (0, 1): [(0, .5), (3, .45)], (0, 2): [(1, .9)],
              (0, 3): [(4, .9)], (1, 0): [(0, .9)], (1, 1): [(3, .9)], (1, 2): [(2, .9)]}
    for (t, w), pairs in owners.items():
        rest = (1 - sum(p for _, p in pairs)) / (5 - len(pairs))
        probs[:, t, 0, w] = rest
        for query, p in pairs:
            probs[query, t, 0, w] = p
    probs[:, 1, 0, 3] = 0.2
    assert torch.allclose(probs.sum(0), torch.ones(2, 1, 4))
    return torch.log(CLASS_PROBS), torch.log(probs)


def build(**kwargs):
    cfg = dict(type='ClipPanopticPostProcessor', num_thing_classes=1, num_stuff_classes=2,
               pixel_confidence_threshold=0.4, thing_threshold=0.7, stuff_threshold=0.5,
               overlap_threshold=0.8, reorder_class_weight=1.0, reorder_mask_weight=1.0)
    cfg.update(kwargs)
    register_all_modules()
    return TASK_UTILS.build(cfg)


def test_mask_wise_merging_hand_case():
    result = build()(*hand_clip())
    # ranks: q1 .72, q0 .9 * (.9 + .5 + .9) / 3 = .69, q2 .675, q3 .95 * .675, q4 .45
    # q1 opens segment 1 (stuff 1), q0 segment 2 (thing, both frames: one tube, one id),
    # q2 (stuff 1) joins segment 1, q3 keeps 1 of 2 pixels (<= 0.8) and is dropped,
    # q4's class score 0.5 is below the thing threshold; frame 1 w1 and w3 stay void
    assert result['segment_map'][:, 0].tolist() == [[2, 2, 1, 0], [2, 0, 1, 0]]
    assert result['sem_seg'][:, 0].tolist() == [[0, 0, 1, 3], [0, 3, 1, 3]]
    segments = result['segments']
    assert segments.labels.tolist() == [1, 0]
    assert segments.scores.tolist() == pytest.approx([.8, .9])
    assert segments.query_inds.tolist() == [1, 0]
    assert segments.is_thing.tolist() == [False, True]


def test_thresholds_change_the_kept_segments():
    # a lower overlap threshold keeps q3 on its free pixel (1 > 0.4 * 2)
    result = build(overlap_threshold=0.4)(*hand_clip())
    assert result['segment_map'][:, 0].tolist() == [[2, 2, 1, 0], [2, 3, 1, 0]]
    assert result['segments'].query_inds.tolist() == [1, 0, 3]
    # a lower thing threshold keeps q4 (class score 0.5)
    result = build(thing_threshold=0.4)(*hand_clip())
    assert result['segment_map'][0, 0].tolist() == [2, 2, 1, 3]
    assert result['segments'].labels.tolist() == [1, 0, 0]
    # a higher pixel threshold: q3 keeps only frame 1 w1 (rank .95 * .9) and comes first, q0
    # keeps its two .9 pixels (rank .81), then stuff 1 (q1 and q2)
    result = build(pixel_confidence_threshold=0.6)(*hand_clip())
    assert result['segment_map'][:, 0].tolist() == [[2, 0, 3, 0], [2, 1, 3, 0]]
    assert result['segments'].query_inds.tolist() == [3, 0, 1]
    # a stuff threshold above 0.8 removes both stuff queries
    result = build(stuff_threshold=0.85)(*hand_clip())
    assert result['sem_seg'][:, 0].tolist() == [[0, 0, 3, 3], [0, 3, 3, 3]]


def test_ranking_by_class_only():
    # reorder_mask_weight 0: q3 (class .95) comes first and takes frame 0 w1 and frame 1 w1;
    # q0 then keeps 2 of 3 pixels (<= 0.8 x 3) and is dropped
    result = build(reorder_mask_weight=0.0)(*hand_clip())
    assert result['segments'].query_inds.tolist() == [3, 1]
    assert result['segment_map'][:, 0].tolist() == [[0, 1, 2, 0], [0, 1, 2, 0]]


def test_area_limits_per_frame():
    # thing limit 2: segment 2 (q0) keeps frame 0 (2 pixels) and is void in frame 1 (1 pixel);
    # stuff limit 2: stuff 1 has 1 pixel per frame, so it disappears and ids are renumbered
    result = build(thing_area_limit=2, stuff_area_limit=2)(*hand_clip())
    assert result['segment_map'][:, 0].tolist() == [[1, 1, 0, 0], [0, 0, 0, 0]]
    assert result['sem_seg'][:, 0].tolist() == [[0, 0, 3, 3], [3, 3, 3, 3]]
    assert result['segments'].labels.tolist() == [0]
    assert result['segments'].query_inds.tolist() == [0]


def test_semantic_mode_hand_case():
    # q0 class probs (.7, .1), q1 (.2, .6) (void .2); pixels: (.9, .1), (.3, .7), (.5, .5)
    class_logits = torch.log(torch.tensor([[.7, .1, .2], [.2, .6, .2]]))
    mask_logits = torch.log(torch.tensor([[.9, .3, .5], [.1, .7, .5]])).view(2, 1, 1, 3)
    processor = ClipPanopticPostProcessor(0, 2, mode='semantic')
    result = processor(class_logits, mask_logits)
    # class 0: .63+.02, .21+.14, .35+.10; class 1: .09+.06, .03+.42, .05+.30
    assert result['sem_seg'].tolist() == [[[0, 1, 0]]]
    assert not result['segment_map'].any() and len(result['segments']) == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match='mode'):
        ClipPanopticPostProcessor(1, 2, mode='instance')
    class_logits, mask_logits = hand_clip()
    with pytest.raises(ValueError, match='class_logits'):
        build()(class_logits[:, :3], mask_logits)
    with pytest.raises(ValueError, match='mask_logits'):
        build()(class_logits, mask_logits[0])

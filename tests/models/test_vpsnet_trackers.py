"""VPSNet's tracker and the baselines on hand-made sequences (spec vpsnet.md §3.3, §4, §8)."""
import math

import pytest
import torch
from mmengine.structures import InstanceData

from mmvps.models.vpsnet import (ClassSortTracker, IoUMatchTracker, PerFrameIdTracker,
                                 VPSNetTracker, warp_id_map)


def dets(boxes, labels, scores, embeds=None, present=None):
    n = len(labels)
    return InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float).view(n, 4),
        labels=torch.tensor(labels, dtype=torch.long),
        scores=torch.tensor(scores, dtype=torch.float),
        embeds=torch.tensor(embeds, dtype=torch.float) if embeds is not None else
        torch.zeros(n, 2),
        present=torch.tensor(present if present is not None else [True] * n))


def comp(sim_row, j, score, iou, same_label):
    """The released association score of one detection for column j (0 = new)."""
    logits = torch.tensor([0.] + sim_row)
    log_softmax = torch.log_softmax(logits, 0)[j]
    return float(log_softmax) + math.log(score) + 2.0 * iou + 10.0 * same_label


def test_first_frame_ids_in_score_order_and_reset():
    tracker = VPSNetTracker()
    ids = tracker.update(0, dets([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 1], [0.7, 0.9],
                                 [[1, 0], [0, 1]]))
    assert ids.tolist() == [2, 1]
    assert tracker.memory_size == 2
    tracker.reset()
    assert tracker.memory_size == 0
    ids = tracker.update(0, dets([[0, 0, 10, 10]], [0], [0.8], [[1, 0]]))
    assert ids.tolist() == [1]


def test_match_new_object_column_and_memory_update():
    tracker = VPSNetTracker()
    tracker.update(0, dets([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 1], [0.9, 0.8],
                           [[3, 0], [0, 3]]))  # slots 0 (id 1) and 1 (id 2)
    # a: like slot 0, moved by 2 px; b: another class far away with an unlike embedding
    frame = dets([[2, 0, 12, 10], [50, 50, 60, 60]], [0, 0], [0.95, 0.85],
                 [[3, 0], [-3, -3]])
    # hand-computed scores of b (similarities -9, -9): the "new" column (label term 1) beats
    # slot 0 (same class, no overlap) and slot 1 (other class)
    sim_b = [-9., -9.]
    assert comp(sim_b, 0, 0.85, 0., 1) > max(comp(sim_b, 1, 0.85, 0., 1),
                                             comp(sim_b, 2, 0.85, 0., 0))
    ids = tracker.update(1, frame)
    assert ids.tolist() == [1, 3]
    # slot 0 now holds a's box and embedding, its label unchanged; b was appended
    assert tracker.memo_bboxes[0].tolist() == [2, 0, 12, 10]
    assert tracker.memory_size == 3 and tracker.memo_labels.tolist() == [0, 1, 0]


def test_new_object_column_gives_a_new_id_immediately():
    tracker = VPSNetTracker()
    tracker.update(0, dets([[0, 0, 10, 10]], [0], [0.9], [[5, 0]]))
    # a detection of another class, unlike and far: log_softmax of the new column wins
    sim = [-25.]
    assert comp(sim, 0, 0.9, 0., 1) > comp(sim, 1, 0.9, 0., 0)
    ids = tracker.update(1, dets([[40, 40, 50, 50]], [1], [0.9], [[-5, 0]]))
    assert ids.tolist() == [2] and tracker.memory_size == 2


def test_conflict_the_higher_claim_wins_and_the_loser_gets_a_new_id():
    tracker = VPSNetTracker()
    tracker.update(0, dets([[0, 0, 10, 10]], [0], [0.9], [[2, 0]]))
    # p (higher score, processed first) and q both prefer slot 0; q's claim is higher (same
    # box, larger similarity), so q takes id 1 and p, the earlier claimant, a new id
    frame = dets([[5, 5, 15, 15], [0, 0, 10, 10]], [0, 0], [0.95, 0.9], [[1, 0], [2, 0]])
    iou_p = 25 / 175
    assert comp([4.], 1, 0.9, 1., 1) > comp([2.], 1, 0.95, iou_p, 1)
    assert comp([2.], 1, 0.95, iou_p, 1) > comp([2.], 0, 0.95, 0., 1)
    ids = tracker.update(1, frame)
    assert ids.tolist() == [2, 1]
    assert tracker.memo_bboxes[0].tolist() == [0, 0, 10, 10]
    # reversed claim order gives the same ids (the tracker works in score order)
    tracker.reset()
    tracker.update(0, dets([[0, 0, 10, 10]], [0], [0.9], [[2, 0]]))
    frame = dets([[0, 0, 10, 10], [5, 5, 15, 15]], [0, 0], [0.9, 0.95], [[2, 0], [1, 0]])
    assert tracker.update(1, frame).tolist() == [1, 2]


def test_per_frame_ids_and_class_sort():
    frame = dets([[0, 0, 1, 1]] * 4, [0, 0, 1, 0], [0.7, 0.9, 0.8, 0.95],
                 present=[True, True, True, False])
    assert PerFrameIdTracker().update(0, frame).tolist() == [3, 1, 2, 0]
    cls_sort = ClassSortTracker(num_ranks=100)
    assert cls_sort.update(0, frame).tolist() == [2, 1, 101, 0]
    # the next frame: the class-0 ranks swap, so the identities swap (the baseline's weakness)
    frame = dets([[0, 0, 1, 1]] * 2, [0, 0], [0.9, 0.7])
    assert cls_sort.update(1, frame).tolist() == [1, 2]
    with pytest.raises(ValueError, match='num_ranks'):
        ClassSortTracker(num_ranks=1).update(0, dets([[0, 0, 1, 1]] * 2, [0, 0], [0.9, 0.8]))


def square_map(squares, size=(20, 20)):
    """Detection index map (k = detection k - 1) of (y0, x0, side) squares."""
    seg = torch.zeros(size, dtype=torch.long)
    for k, (y, x, s) in enumerate(squares, start=1):
        seg[y:y + s, x:x + s] = k
    return seg


def test_iou_match_sequence():
    tracker = IoUMatchTracker(iou_thr=0.5)
    labels_0 = dets([[0, 0, 1, 1]] * 2, [0, 1], [0.9, 0.8])
    ids = tracker.update(0, labels_0, segment_map=square_map([(0, 0, 6), (10, 10, 6)]))
    assert ids.tolist() == [1, 2]
    # frame 1: listed in the other order, each moved by 1 px (IoU 25/47 > 0.5), plus a newcomer
    frame = dets([[0, 0, 1, 1]] * 3, [1, 0, 0], [0.9, 0.8, 0.7])
    ids = tracker.update(1, frame, segment_map=square_map([(11, 10, 6), (1, 0, 6), (0, 14, 4)]))
    assert ids.tolist() == [2, 1, 3]
    # frame 2: object 1 moved by 3 px (IoU 18/54 < 0.5) -> new id; object 2 changes class at
    # the same place -> new id; absent detections get no id
    frame = dets([[0, 0, 1, 1]] * 3, [0, 0, 0], [0.9, 0.8, 0.7], present=[True, True, False])
    ids = tracker.update(2, frame, segment_map=square_map([(4, 0, 6), (11, 10, 6)]))
    assert ids.tolist() == [4, 5, 0]
    tracker.reset()
    assert tracker.update(0, labels_0, segment_map=square_map([(0, 0, 6), (10, 10, 6)])
                          ).tolist() == [1, 2]


def test_iou_match_with_flow_follows_a_fast_object():
    seg_0, seg_1 = square_map([(0, 0, 6)]), square_map([(0, 8, 6)])  # moved 8 px right
    frame = dets([[0, 0, 1, 1]], [0], [0.9])
    plain = IoUMatchTracker()
    plain.update(0, frame, segment_map=seg_0)
    assert plain.update(1, frame, segment_map=seg_1).tolist() == [2]
    flow = torch.zeros(2, 20, 20)
    flow[0] = -8.  # each pixel of frame 1 lies 8 px to the left in frame 0
    warped = IoUMatchTracker(use_flow=True)
    warped.update(0, frame, segment_map=seg_0)
    assert warped.update(1, frame, segment_map=seg_1, flow=flow).tolist() == [1]
    with pytest.raises(ValueError, match='flow'):
        warped.update(2, frame, segment_map=seg_1)


def test_warp_id_map_moves_ids_by_the_flow():
    ids = torch.arange(12).view(3, 4)
    flow = torch.zeros(2, 3, 4)
    flow[0] = 1.  # read one pixel to the right
    out = warp_id_map(ids, flow)
    assert out[:, :3].tolist() == ids[:, 1:].tolist() and (out[:, 3] == 0).all()
    assert torch.equal(warp_id_map(ids, torch.zeros(2, 3, 4)), ids)

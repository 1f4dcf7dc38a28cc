"""Video Stitching (ViP-DeepLab's rule) and the normalised boxes of HiLA-MB's location cue."""
import pytest
import torch

from mmvps.models.trackers import (VideoStitching, masks_to_normalized_boxes,
                                   segment_map_to_normalized_boxes)
from mmvps.registry import TASK_UTILS
from mmvps.utils import register_all_modules

register_all_modules()


def test_masks_to_normalized_boxes():
    masks = torch.zeros(3, 10, 20, dtype=torch.bool)
    masks[0, 2:5, 3:8] = True  # rows 2-4, columns 3-7
    masks[1] = True
    boxes = masks_to_normalized_boxes(masks)
    assert boxes.dtype == torch.float32
    torch.testing.assert_close(boxes[0], torch.tensor([3 / 20, 2 / 10, 8 / 20, 5 / 10]))
    torch.testing.assert_close(boxes[1], torch.tensor([0., 0., 1., 1.]))
    torch.testing.assert_close(boxes[2], torch.zeros(4))  # empty mask
    assert masks_to_normalized_boxes(masks[:0]).shape == (0, 4)
    with pytest.raises(ValueError, match=r'\[S, H, W\]'):
        masks_to_normalized_boxes(masks[0])


def test_segment_map_boxes_equal_mask_boxes():
    torch.manual_seed(0)
    segment_map = torch.randint(0, 5, (13, 17))
    segment_map[segment_map == 3] = 0  # segment 3 absent
    masks = torch.stack([segment_map == k for k in range(1, 6)])  # segment 5 never drawn
    boxes, present = segment_map_to_normalized_boxes(segment_map, 5)
    torch.testing.assert_close(boxes, masks_to_normalized_boxes(masks))
    assert present.tolist() == [True, True, False, True, False]
    with pytest.raises(ValueError, match=r'\[0, 3\]'):
        segment_map_to_normalized_boxes(segment_map, 3)


def strip_overlap(new_classes):
    """One 1 x 40 row. Previous output: thing (class 0, id 11) on [0, 10), thing (class 0, id 12)
    on [10, 20), stuff class 3 on [20, 40). New segments: 1 = class 0 on [2, 14); 2 = class 0 on
    [0, 2) and [14, 16); 3 on [16, 20) and 4 = stuff class 3 on [20, 40), with the classes of
    segments 3 and 4 given."""
    prev_labels = torch.tensor([0] * 20 + [3] * 20)[None]
    prev_ids = torch.tensor([11] * 10 + [12] * 10 + [0] * 20)[None]
    segment_map = torch.tensor([2] * 2 + [1] * 12 + [2] * 2 + [3] * 4 + [4] * 20)[None]
    classes = torch.tensor([0, 0, 0] + list(new_classes))
    is_thing = torch.tensor([True, True, new_classes[0] < 3, False])
    return prev_labels, prev_ids, classes[segment_map], segment_map, is_thing


def test_stitching_is_mutual_best_not_hungarian():
    # IoUs with previous id 11 / 12: segment 1: 8/14 / 4/18, segment 2: 2/12 / 2/12; segment 3
    # (class 1) overlaps id 12 but has another class. Mutual best: (11, 1) only. (Hungarian would
    # also pair 12 with segment 2: 8/14 + 2/12 > 4/18 + 2/12.)
    stitching = TASK_UTILS.build(dict(type='VideoStitching'))
    assert stitching(*strip_overlap((1, 3))) == {1: 11}


def test_stitching_same_class_one_to_one_stuff_untouched():
    # segment 3 now of class 0: IoU with id 12 is 4/10, the best for both sides
    result = VideoStitching()(*strip_overlap((0, 3)))
    assert result == {1: 11, 3: 12}
    # the stuff segment 4 of class 3 covers the previous stuff exactly and is never stitched
    assert 4 not in result
    # a previous frame without things stitches nothing
    prev_labels, prev_ids, new_labels, segment_map, is_thing = strip_overlap((0, 3))
    assert VideoStitching()(prev_labels, torch.zeros_like(prev_ids), new_labels, segment_map,
                            is_thing) == {}


def test_stitching_pairs_are_mutual_best_on_random_maps():
    torch.manual_seed(1)
    for _ in range(20):
        prev_labels = torch.randint(0, 3, (12, 12))
        prev_ids = torch.randint(0, 4, (12, 12))
        prev_ids = torch.where(prev_ids > 0, prev_ids + 10 * prev_labels, 0)  # unique per class
        segment_map = torch.randint(0, 7, (12, 12))
        seg_classes = torch.randint(0, 3, (7, ))
        is_thing = torch.rand(6) < 0.8
        new_labels = seg_classes[segment_map]
        result = VideoStitching()(prev_labels, prev_ids, new_labels, segment_map, is_thing)
        assert len(set(result.values())) == len(result)  # one-to-one
        # brute-force IoU over same-class thing pairs
        prev_keys = {(int(c), int(i)) for c, i in zip(prev_labels.flatten(), prev_ids.flatten())
                     if i > 0}
        iou = {}
        for c, i in prev_keys:
            prev_mask = (prev_labels == c) & (prev_ids == i)
            for k in range(1, 7):
                new_mask = segment_map == k
                inter = (prev_mask & new_mask & (new_labels == c)).sum().item()
                if is_thing[k - 1] and inter > 0:
                    iou[(c, i), k] = inter / (prev_mask | new_mask).sum().item()
        for k, track_id in result.items():
            pairs = [key for key in iou if key[1] == k]
            best = max(iou[key] for key in pairs)
            matched = [key for key in pairs if key[0][1] == track_id]
            assert len(matched) == 1 and iou[matched[0]] == best
            prev_key = matched[0][0]
            assert iou[matched[0]] == max(v for key, v in iou.items() if key[0] == prev_key)
        # every previous segment whose best partner also prefers it (unique maxima) is stitched
        for prev_key in prev_keys:
            row = {key[1]: v for key, v in iou.items() if key[0] == prev_key}
            if not row:
                continue
            k = max(row, key=row.get)
            col = {key[0]: v for key, v in iou.items() if key[1] == k}
            unique = list(row.values()).count(row[k]) == 1 and list(col.values()).count(
                col[prev_key]) == 1
            if unique and max(col, key=col.get) == prev_key:
                assert result.get(k) == prev_key[1]


def test_stitching_bad_input():
    prev_labels, prev_ids, new_labels, segment_map, is_thing = strip_overlap((0, 3))
    with pytest.raises(ValueError, match='four'):
        VideoStitching()(prev_labels, prev_ids[:, :5], new_labels, segment_map, is_thing)
    with pytest.raises(ValueError, match=r'\[0, 3\]'):
        VideoStitching()(prev_labels, prev_ids, new_labels, segment_map, is_thing[:3])
    prev_labels[0, 0] = 1  # id 11 on classes 0 and 1
    with pytest.raises(ValueError, match='several classes'):
        VideoStitching()(prev_labels, prev_ids, new_labels, segment_map, is_thing)

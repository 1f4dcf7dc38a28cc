"""ClipMaskMerger (Clip-PanoFCN spec Sec. 4.4-4.6) on hand-made kernels and features: the
overlap rule per frame, stuff area summed over the clip, free pixels vs the released overwrite."""
import math

import pytest
import torch

from mmvps.models.heads.panoptic_fcn import ClipMaskMerger
from mmvps.registry import TASK_UTILS

T, H, W, E = 2, 4, 4, 7
VOID = 4  # 2 thing + 2 stuff classes


def region(rows, cols):
    mask = torch.zeros(H, W, dtype=torch.bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return mask


def clip_inputs():
    """Feature channel e is +10 on kernel e's region, -10 elsewhere (one-hot kernels)."""
    features = torch.full((T, E, H, W), -10.0)
    a = region((0, 2), (0, 4))
    features[0, 0][a] = features[1, 0][a] = 10  # thing A, both frames, rows 0-1
    features[0, 1][region((0, 3), (0, 2))] = 10  # thing B, frame 0: 4 of 6 px under A
    features[1, 1][region((2, 4), (0, 2))] = 10  # thing B, frame 1: free
    features[0, 2][region((1, 3), (2, 4))] = 10  # thing C, frame 0: 2 of 4 px under A
    features[:, 3] = 10  # thing D: everywhere, but a low score
    features[:, 4] = 1  # stuff channel 1: everywhere, prob 0.73
    features[:, 5, 3, 3] = 3  # stuff channel 2 wins at (3, 3) in both frames
    features[0, 6][a] = features[1, 6][a] = 10  # thing E: A's mask again
    kernels = torch.eye(E)
    return dict(
        thing_kernels=kernels[[0, 1, 2, 3, 6]] * 2,  # length does not change the embeds
        thing_scores=torch.tensor([0.9, 0.8, 0.7, 0.1, 0.6]),
        thing_labels=torch.tensor([0, 1, 0, 1, 1]),
        stuff_kernels=kernels[[4, 5]],
        stuff_scores=torch.tensor([0.5, 0.4]),
        stuff_labels=torch.tensor([1, 2]),
        mask_features=features)


def merger(**kwargs):
    cfg = dict(type='ClipMaskMerger', num_thing_classes=2, num_stuff_classes=2, stride=1,
               stuff_area_limit=2)
    cfg.update(kwargs)
    return TASK_UTILS.build(cfg)


def test_free_pixels_overlap_per_frame_and_stuff():
    clip = merger()(clip_inputs(), img_shape=(H, W), ori_shape=(H, W))
    # segments: A, B, C (D under thing_threshold, E rejected in both frames), stuff 1, stuff 2
    assert clip.segments.labels.tolist() == [0, 1, 0, 2, 3]
    assert clip.segments.is_thing.tolist() == [True, True, True, False, False]
    assert clip.segments.scores[3:].tolist() == pytest.approx([0.5, 0.4])
    expected = torch.tensor([
        [[1, 1, 1, 1],
         [1, 1, 1, 1],
         [4, 4, 3, 3],  # B rejected in frame 0 (4 / 6 covered), C takes its free pixels only
         [4, 4, 4, 5]],
        [[1, 1, 1, 1],
         [1, 1, 1, 1],
         [2, 2, 4, 4],  # B accepted in frame 1; C empty there
         [2, 2, 4, 5]]])
    assert clip.segment_map.tolist() == expected.tolist()
    lookup = torch.tensor([VOID, 0, 1, 0, 2, 3])
    assert clip.sem_seg.tolist() == lookup[expected].tolist()
    # embeds: the L2-normalised fused kernels, things then stuff
    torch.testing.assert_close(clip.segments.embeds, torch.eye(E)[[0, 1, 2, 4, 5]])


def test_stuff_area_is_summed_over_the_clip():
    # stuff channel 2 has 1 px per frame: 2 px in the clip
    kept = merger(stuff_area_limit=2)(clip_inputs(), (H, W), (H, W))
    dropped = merger(stuff_area_limit=3)(clip_inputs(), (H, W), (H, W))
    assert kept.segments.labels.tolist()[-1] == 3
    assert dropped.segments.labels.tolist() == [0, 1, 0, 2]
    assert (dropped.sem_seg[:, 3, 3] == VOID).all() and (dropped.segment_map[:, 3, 3] == 0).all()


def test_released_overwrite():
    clip = merger(overwrite_things=True)(clip_inputs(), (H, W), (H, W))
    assert clip.segments.labels.tolist() == [0, 1, 0, 2, 3]
    expected = torch.tensor([
        [[2, 2, 1, 1],  # B writes its whole mask over A, in frame 0 too
         [2, 2, 3, 3],  # C (2 of 4 px covered, accepted) writes over A
         [2, 2, 3, 3],
         [4, 4, 4, 5]],
        [[1, 1, 1, 1],
         [1, 1, 1, 1],
         [2, 2, 4, 4],
         [2, 2, 4, 5]]])
    assert clip.segment_map.tolist() == expected.tolist()


def test_rescore_over_the_clip():
    features = torch.full((T, 3, H, W), -10.0)
    features[0, 0][region((0, 2), (0, 4))] = 1.0  # prob 0.731 on 8 px of frame 0, 0 in frame 1
    features[1, 1][region((0, 1), (0, 2))] = math.log(0.6 / 0.4)  # prob 0.6: 2 px
    features[:, 2] = 0.0  # prob 0.5 everywhere
    m = merger(max_things=2)
    probs, scores, order = m.rescore_things(torch.eye(3), torch.tensor([0.9, 0.5, 0.09]),
                                            features)
    # 0.9 * 0.731 = 0.658, 0.5 * 0.6 = 0.3, 0.09 * 0.5 = 0.045 < 0.05 (dropped anyway)
    assert order.tolist() == [0, 1]
    assert scores.tolist() == pytest.approx([0.9 / (1 + math.exp(-1)), 0.3], rel=1e-4)
    assert probs.shape == (2, T, H, W)
    _, scores, order = merger(max_things=1).rescore_things(
        torch.eye(3), torch.tensor([0.9, 0.5, 0.2]), features)
    assert order.tolist() == [0]


def test_resize_to_original_size_and_empty_clip():
    m = merger(stride=4)
    inputs = clip_inputs()  # features at 4x4 = a padded 16x16 input
    clip = m(inputs, img_shape=(14, 16), ori_shape=(28, 32))
    assert clip.sem_seg.shape == (T, 28, 32) and clip.segment_map.shape == (T, 28, 32)
    # A covers the top half of the features: the top rows of the original frames
    assert (clip.segment_map[:, :10] == 1).all()
    empty = dict(inputs, thing_kernels=torch.zeros(0, E), thing_scores=torch.zeros(0),
                 thing_labels=torch.zeros(0, dtype=torch.long), stuff_kernels=torch.zeros(0, E),
                 stuff_scores=torch.zeros(0), stuff_labels=torch.zeros(0, dtype=torch.long))
    clip = m(empty, img_shape=(14, 16), ori_shape=(28, 32))
    assert len(clip.segments.labels) == 0 and (clip.sem_seg == VOID).all()
    assert clip.segments.embeds.shape == (0, E)


def test_bad_input():
    inputs = clip_inputs()
    with pytest.raises(ValueError, match='stuff region channels'):
        merger()(dict(inputs, stuff_labels=torch.tensor([1, 3])), (H, W), (H, W))
    with pytest.raises(ValueError, match='one fused stuff kernel per region channel'):
        merger()(dict(inputs, stuff_labels=torch.tensor([1, 1])), (H, W), (H, W))
    with pytest.raises(ValueError, match='thing labels'):
        merger()(dict(inputs, thing_labels=torch.tensor([0, 1, 0, 2, 1])), (H, W), (H, W))
    with pytest.raises(ValueError, match=r'mask_features must be \[T, E, h, w\]'):
        merger()(dict(inputs, mask_features=torch.zeros(E, H, W)), (H, W), (H, W))
    with pytest.raises(ValueError, match='max_things'):
        ClipMaskMerger(2, 2, max_things=0)

"""ClipKernelFusion (Clip-PanoFCN spec Sec. 4.3) on hand-made kernels."""
import math

import pytest
import torch

from mmvps.models.heads.panoptic_fcn import ClipKernelFusion
from mmvps.registry import TASK_UTILS


def unit(angle_deg):
    """A 2-d unit kernel at ``angle_deg`` (cosine between two = cos of the angle difference)."""
    a = math.radians(angle_deg)
    return [math.cos(a), math.sin(a)]


def test_leader_member_and_dropped():
    # sorted by score. cos(0, 20) = 0.940 >= 0.9: B joins A. cos(20, 40) = 0.940 but cos(0, 40)
    # = 0.766: C's first similar higher-scored candidate is B, which is not a leader: dropped.
    # D at 90 deg: a leader. E at 85 deg (cos(90, 85) = 0.996, cos(40, 85) = 0.707): joins D.
    kernels = torch.tensor([unit(0), unit(20), unit(40), unit(90), unit(85)]) * \
        torch.tensor([[1.], [2.], [1.], [3.], [1.]])  # lengths do not matter for cosine
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])
    labels = torch.zeros(5, dtype=torch.long)
    fusion = ClipKernelFusion()
    assert fusion.group_things(kernels, scores, labels).tolist() == [0, 0, -1, 3, 3]
    fused, fused_scores, fused_labels = fusion.fuse_things(kernels, scores, labels)
    torch.testing.assert_close(fused, torch.stack([(kernels[0] + kernels[1]) / 2,
                                                   (kernels[3] + kernels[4]) / 2]))
    assert fused_scores.tolist() == pytest.approx([0.9, 0.6])
    assert fused_labels.tolist() == [0, 0]


def test_class_specific_and_threshold():
    kernels = torch.tensor([unit(0), unit(5), unit(10)])
    scores = torch.tensor([0.9, 0.8, 0.7])
    labels = torch.tensor([0, 1, 0])
    # candidate 1 has another class: its own leader; 2 joins 0 (same class, cos 0.985)
    assert ClipKernelFusion().group_things(kernels, scores, labels).tolist() == [0, 1, 0]
    # class-agnostic: 1 and 2 join 0
    agnostic = ClipKernelFusion(class_specific=False)
    assert agnostic.group_things(kernels, scores, labels).tolist() == [0, 0, 0]
    # the threshold is inclusive (>=) and decides membership: cos(0, 10) = 0.98481
    assert ClipKernelFusion(similarity_threshold=0.99).group_things(
        kernels, scores, labels).tolist() == [0, 1, 2]
    assert ClipKernelFusion(similarity_threshold=math.cos(math.radians(10)) - 1e-6).group_things(
        kernels, scores, labels).tolist() == [0, 1, 0]


def test_member_joins_the_first_similar_candidate_not_the_most_similar():
    # 2 is closer to 1 (cos 0.985) than to 0 (cos 0.940) but 0 scores higher: 2 joins 0
    kernels = torch.tensor([unit(0), unit(30), unit(20), unit(30)])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    labels = torch.zeros(4, dtype=torch.long)
    # 1: cos(0, 30) = 0.866 < 0.9, leader; 2: cos(0, 20) = 0.94, joins 0;
    # 3: first similar higher candidate is 1 (cos 1): joins 1
    assert ClipKernelFusion().group_things(kernels, scores, labels).tolist() == [0, 1, 0, 1]


def test_call_sorts_candidates_and_fuses_stuff_means():
    fusion = TASK_UTILS.build(dict(type='ClipKernelFusion'))
    candidates = dict(
        thing_kernels=torch.tensor([unit(45), unit(0), unit(1)]),
        thing_scores=torch.tensor([0.3, 0.5, 0.9]),
        thing_labels=torch.tensor([1, 0, 0]),
        stuff_kernels=torch.tensor([[1., 2.], [3., 4.], [5., 6.], [7., 9.]]),
        stuff_scores=torch.tensor([0.2, 0.4, 0.6, 0.9]),
        stuff_labels=torch.tensor([3, 0, 3, 1]),
        mask_features=torch.zeros(2, 2, 4, 4))
    fused = fusion(candidates)
    # order by score: kernel 2 (0.9, leader), kernel 1 (0.5, cos 0.9998 joins 2), kernel 0
    torch.testing.assert_close(fused['thing_kernels'],
                               torch.tensor([[(unit(1)[0] + 1) / 2, unit(1)[1] / 2], unit(45)]))
    assert fused['thing_scores'].tolist() == pytest.approx([0.9, 0.3])
    assert fused['thing_labels'].tolist() == [0, 1]
    torch.testing.assert_close(fused['stuff_kernels'],
                               torch.tensor([[3., 4.], [7., 9.], [3., 4.]]))
    assert fused['stuff_scores'].tolist() == pytest.approx([0.4, 0.9, 0.4])
    assert fused['stuff_labels'].tolist() == [0, 1, 3]
    assert fused['mask_features'] is candidates['mask_features']


def test_empty_and_bad_input():
    fusion = ClipKernelFusion()
    fused, scores, labels = fusion.fuse_things(torch.zeros(0, 8), torch.zeros(0),
                                               torch.zeros(0, dtype=torch.long))
    assert fused.shape == (0, 8) and scores.shape == (0, ) and labels.shape == (0, )
    with pytest.raises(ValueError, match='descending score'):
        fusion.group_things(torch.eye(2), torch.tensor([0.1, 0.2]), torch.zeros(2).long())
    with pytest.raises(ValueError, match=r'kernels \[N, E\]'):
        fusion.fuse_stuff(torch.zeros(3), torch.zeros(3), torch.zeros(3).long())
    with pytest.raises(KeyError, match='stuff_labels'):
        fusion(dict(thing_kernels=torch.zeros(0, 2), thing_scores=torch.zeros(0),
                    thing_labels=torch.zeros(0).long(), stuff_kernels=torch.zeros(0, 2),
                    stuff_scores=torch.zeros(0)))
    with pytest.raises(ValueError, match='similarity_threshold'):
        ClipKernelFusion(similarity_threshold=1.5)

"""Video K-Net association losses (Eq. 1, Eq. 2) and the embedding head's sampling and targets,
against hand-computed values."""
import math

import pytest
import torch

from mmvps.models.losses import AssociationContrastiveLoss, AssociationL2Loss
from mmvps.models.track_heads import KernelAssociationEmbedHead


def log1pexp_sum(*exponents):
    return math.log(1 + sum(math.exp(e) for e in exponents))


def test_contrastive_loss_single_positive():
    # v0: positive 2, negatives 0 and 1 -> -log(e^2 / (e^2 + e^0 + e^1))
    similarity = torch.tensor([[2., 0., 1.]])
    target = torch.tensor([[1, 0, 0]])
    expected = -math.log(math.exp(2) / (math.exp(2) + math.exp(0) + math.exp(1)))
    loss = AssociationContrastiveLoss()(similarity, target)
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_contrastive_loss_sums_over_positives_and_skips_rows_without_one():
    similarity = torch.tensor([[2., 1., 0.], [0., 3., 1.], [1., 1., 1.]])
    target = torch.tensor([[1, 1, 0], [0, 1, 0], [0, 0, 0]])
    # row 0: two positives (2 and 1) against the negative 0; row 1: positive 3 against 0 and 1;
    # row 2 has no positive and is not averaged in
    row0 = log1pexp_sum(0 - 2) + log1pexp_sum(0 - 1)
    row1 = log1pexp_sum(0 - 3, 1 - 3)
    loss = AssociationContrastiveLoss(loss_weight=0.25)(similarity, target)
    assert loss.item() == pytest.approx(0.25 * (row0 + row1) / 2, abs=1e-6)
    # differs from QDTrack's multi-positive form log(1 + sum_{k+,k-} exp(k- - k+)) on row 0
    assert row0 != pytest.approx(log1pexp_sum(0 - 2, 0 - 1))


def test_contrastive_loss_gradients_are_finite_without_negatives():
    similarity = torch.tensor([[1.5, -0.5]], requires_grad=True)
    loss = AssociationContrastiveLoss()(similarity, torch.tensor([[1, 1]]))
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-7)
    assert torch.isfinite(similarity.grad).all()


def test_contrastive_loss_empty_and_bad_shapes():
    empty = torch.zeros((0, 3), requires_grad=True)
    assert AssociationContrastiveLoss()(empty, torch.zeros((0, 3))).item() == 0
    with pytest.raises(ValueError, match='same shape'):
        AssociationContrastiveLoss()(torch.zeros(2, 3), torch.zeros(3, 2))


def test_l2_loss_hand_computed():
    cosine = torch.tensor([[1., 0.5], [-0.5, 0.2]])
    target = torch.tensor([[1, 0], [0, 1]])
    expected = (0 + 0.5**2 + 0.5**2 + 0.8**2) / 4
    assert AssociationL2Loss()(cosine, target).item() == pytest.approx(expected, abs=1e-6)
    # no clamping: a negative cosine on a negative pair is still penalised (unlike MarginL2Loss)
    assert AssociationL2Loss()(torch.tensor([[-0.6]]), torch.tensor([[0]])).item() == \
        pytest.approx(0.36)


def make_head(**kwargs):
    head = KernelAssociationEmbedHead(in_channels=8, embed_channels=4, num_fcs=1, **kwargs)
    head.init_weights()
    return head


def test_head_shapes():
    head = make_head()
    assert head(torch.randn(5, 8)).shape == (5, 4)
    assert head(torch.randn(2, 5, 8)).shape == (2, 5, 4)


def test_head_sampling_by_mask_iou():
    head = make_head()
    gt = torch.zeros(3, 8, 8, dtype=torch.bool)
    gt[0, :4] = True  # rows 0-3
    gt[1, 4:] = True  # rows 4-7
    gt[2, :, :2] = True  # columns 0-1
    logits = torch.full((6, 8, 8), -10.)
    logits[0, :4] = 10  # kernel 0 -> GT 0, IoU 1: positive
    logits[3, :4] = 10  # kernel 3 -> GT 1, IoU 0: negative
    logits[2, :, :3] = 10  # kernel 2 -> GT 2, IoU 16 / 24 = 0.67: between alpha_2 and alpha_1
    logits[5, :3] = 10  # kernel 5 unassigned: never a sample
    assigned = torch.tensor([0, -1, 2, 1, -1, -1])
    inds, gt_inds = head.sample_kernels(logits, gt, assigned)
    assert inds.tolist() == [0, 3]
    assert gt_inds.tolist() == [0, -1]
    # GT masks at another resolution are resized to the logits' resolution
    inds, gt_inds = head.sample_kernels(logits, gt.repeat_interleave(2, 1).repeat_interleave(2, 2),
                                        assigned)
    assert inds.tolist() == [0, 3] and gt_inds.tolist() == [0, -1]
    # a lower alpha_1 admits kernel 2
    inds, gt_inds = make_head(pos_iou_thr=0.6).sample_kernels(logits, gt, assigned)
    assert inds.tolist() == [0, 2, 3] and gt_inds.tolist() == [0, 2, -1]
    with pytest.raises(ValueError, match='out of range'):
        head.sample_kernels(logits, gt[:1], assigned)
    with pytest.raises(ValueError, match='neg_iou_thr'):
        make_head(pos_iou_thr=0.2, neg_iou_thr=0.3)


def test_head_targets_need_same_class_and_track():
    head = make_head()
    targets = head.get_targets(
        key_labels=torch.tensor([0, 1, 0]), key_ids=torch.tensor([1, 1, 0]),
        ref_labels=torch.tensor([0, 0, 1, 0]), ref_ids=torch.tensor([1, 2, 1, 0]))
    assert targets.tolist() == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]


def test_head_loss_hand_computed():
    head = make_head()
    key_embeds = torch.tensor([[1., 0.], [0., 1.], [5., 5.]])
    ref_embeds = torch.tensor([[2., 0.], [0., 1.], [1., 1.]])
    # key sample 2 is a negative (id 0): never a training sample v
    losses = head.loss([key_embeds], [ref_embeds], [torch.tensor([0, 0, 0])],
                       [torch.tensor([1, 2, 0])], [torch.tensor([0, 0, -1])],
                       [torch.tensor([1, 2, 0])])
    # v0 . k = (2, 0, 1), positive k0; v1 . k = (0, 1, 1), positive k1
    track = (log1pexp_sum(0 - 2, 1 - 2) + log1pexp_sum(0 - 1, 1 - 1)) / 2
    # cosines: v0 (1, 0, 1/sqrt2), v1 (0, 1, 1/sqrt2); targets diag -> two 0.5 errors of 6 pairs
    aux = (2 * 0.5) / 6
    assert losses['loss_track'].item() == pytest.approx(0.25 * track, abs=1e-6)
    assert losses['loss_track_aux'].item() == pytest.approx(aux, abs=1e-6)


def test_head_loss_without_samples_is_zero_and_differentiable():
    head = make_head()
    key = head(torch.randn(0, 8))
    losses = head.loss([key], [head(torch.randn(2, 8))], [torch.zeros(0, dtype=torch.long)],
                       [torch.zeros(0, dtype=torch.long)], [torch.tensor([0, 1])],
                       [torch.tensor([1, 1])])
    total = losses['loss_track'] + losses['loss_track_aux']
    assert total.item() == 0
    total.backward()

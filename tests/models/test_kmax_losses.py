"""kMaX-DeepLab losses against hand-computed values on tiny cases."""
import math

import pytest
import torch

from mmvps.models.losses import (MaskIDCrossEntropyLoss, PixelInstanceDiscriminationLoss,
                                 PQStyleClassLoss, PQStyleDiceLoss, SampledSemanticLoss)
from mmvps.models.losses.kmax_losses import _sample_pixels, inverse_mask_area
from mmvps.registry import MODELS
from mmvps.utils import register_all_modules

# 2 queries, 3 pixels: q0 logits (ln 3, 0, 0), q1 zeros -> mask-ID probabilities
# q0 = (0.75, 0.5, 0.5), q1 = (0.25, 0.5, 0.5)
MASK_LOGITS = torch.tensor([[[math.log(3), 0., 0.], [0., 0., 0.]]])
TARGETS = torch.tensor([[[1., 0., 0.], [0., 1., 0.]]])
VOID = torch.tensor([[False, False, True]])


def test_losses_are_registered_with_kmax_defaults():
    register_all_modules()
    weights = {name: MODELS.build(dict(type=name)).loss_weight for name in (
        'PQStyleClassLoss', 'PQStyleDiceLoss', 'MaskIDCrossEntropyLoss',
        'PixelInstanceDiscriminationLoss', 'SampledSemanticLoss')}
    assert weights == {'PQStyleClassLoss': 3.0, 'PQStyleDiceLoss': 3.0,
                       'MaskIDCrossEntropyLoss': 0.3, 'PixelInstanceDiscriminationLoss': 1.0,
                       'SampledSemanticLoss': 1.0}
    insdis = MODELS.build(dict(type='PixelInstanceDiscriminationLoss'))
    assert (insdis.num_samples, insdis.sample_temperature, insdis.temperature) == (4096, 1.5, 0.3)
    semantic = MODELS.build(dict(type='SampledSemanticLoss'))
    assert (semantic.num_samples, semantic.sample_temperature) == (4096, 2.0)


def test_pq_class_loss_hand_case():
    # C = 2 real classes + void. q0 probs (0.5, 0.25, 0.25) target 0; q1 (0.2, 0.2, 0.6) void
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.2, 0.2, 0.6]],
                                     [[0.5, 0.25, 0.25], [0.2, 0.2, 0.6]]]))
    labels = torch.tensor([[0, 2], [1, 2]])
    weights = torch.tensor([[0.5, 0.2], [0.4, 0.0]])  # clip 2: q1 carries no weight
    clip1 = (-math.log(0.5) * 0.75 * 0.5 + -math.log(0.6) * 0.25 * 0.2) / 2
    clip2 = -math.log(0.25) * 0.75 * 0.4 / 1
    loss = PQStyleClassLoss(loss_weight=3.0)(logits, labels, weights)
    assert loss.item() == pytest.approx(3.0 * (clip1 + clip2) / 2, rel=1e-6)


def test_pq_dice_loss_hand_case():
    # void pixel 2 zeroed: q0 p = (0.75, 0.5, 0), q1 p = (0.25, 0.5, 0)
    weights = torch.tensor([[0.8, 0.3]])
    dice0 = (2 * 0.75 + 1) / (1.25 + 1 + 1)
    dice1 = (2 * 0.5 + 1) / (0.75 + 1 + 1)
    expected = ((1 - dice0) * 0.8 + (1 - dice1) * 0.3) * 0.75 / 2
    loss = PQStyleDiceLoss(loss_weight=3.0)(MASK_LOGITS, TARGETS, VOID, weights)
    assert loss.item() == pytest.approx(3.0 * expected, rel=1e-6)
    # an unmatched query (weight 0, empty target) adds nothing
    loss = PQStyleDiceLoss(loss_weight=1.0)(MASK_LOGITS, TARGETS, VOID,
                                            torch.tensor([[0.8, 0.0]]))
    assert loss.item() == pytest.approx((1 - dice0) * 0.8 * 0.75 / 2, rel=1e-6)


def test_mask_id_cross_entropy_hand_case():
    loss = MaskIDCrossEntropyLoss(loss_weight=0.3)(MASK_LOGITS, TARGETS, VOID)
    assert loss.item() == pytest.approx(0.3 * (-math.log(0.75) - math.log(0.5)) / 2, rel=1e-6)
    # a pixel claimed by both targets is shared half-half; the void pixel stays out
    overlapping = torch.tensor([[[1., 1., 0.], [0., 1., 0.]]])
    loss = MaskIDCrossEntropyLoss(loss_weight=1.0)(MASK_LOGITS, overlapping, VOID)
    expected = (-math.log(0.75) - 0.5 * math.log(0.5) - 0.5 * math.log(0.5)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_instance_discrimination_hand_case():
    # pixels 0, 1 in mask A, pixel 2 in mask B, pixel 3 void; K = 3 draws exactly the valid ones
    feats = torch.tensor([[[1., 1., 0., 0.6], [0., 0., 1., 0.8]]])  # B x E x L
    targets = torch.tensor([[[1., 1., 0., 0.], [0., 0., 1., 0.]]])
    void = torch.tensor([[False, False, False, True]])
    a = 1 / 0.3
    expected = (2 * math.log(2 + math.exp(-a)) + math.log(1 + 2 * math.exp(-a))) / 3
    loss_fn = PixelInstanceDiscriminationLoss(num_samples=3, loss_weight=1.0)
    loss = loss_fn(feats, targets, void, inverse_mask_area(targets))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_instance_discrimination_targets_are_normalised_per_pixel():
    # identical embeddings: uniform softmax over the K samples, so the soft cross-entropy of a
    # pixel is log(K) times the sum of its target row, which must be 1 whatever its mask size
    feats = torch.nn.functional.normalize(torch.ones(2, 4, 6), dim=1)
    targets = torch.tensor([[[1., 1., 1., 1., 0., 0.], [0., 0., 0., 0., 1., 1.]]] * 2)
    void = torch.zeros(2, 6, dtype=torch.bool)
    loss = PixelInstanceDiscriminationLoss(num_samples=6)(feats, targets, void,
                                                          inverse_mask_area(targets))
    assert loss.item() == pytest.approx(math.log(6), rel=1e-6)


def test_inverse_mask_area_and_sampling_balance_segments():
    targets = torch.zeros(1, 2, 100)
    targets[0, 0, :90] = 1  # large segment
    targets[0, 1, 90:99] = 1  # small segment, pixel 99 void
    inverse = inverse_mask_area(targets)
    assert inverse[0, 0].item() == pytest.approx(100 / 90)
    assert inverse[0, 95].item() == pytest.approx(100 / 9)
    assert inverse[0, 99].item() == pytest.approx(100)  # void: area counts as 1
    void = targets.sum(1) < 1
    torch.manual_seed(0)
    # temperature 1: the first draw lands in either segment with probability 1/2
    draws = torch.cat([_sample_pixels(void, inverse, 1, 1.0) for _ in range(2000)])
    assert (draws >= 90).float().mean().item() == pytest.approx(0.5, abs=0.05)
    assert not (draws == 99).any()
    # temperature 0: uniform over the valid pixels; more draws than valid pixels take void last
    draws = torch.cat([_sample_pixels(void, inverse, 1, 0.0) for _ in range(2000)])
    assert (draws >= 90).float().mean().item() == pytest.approx(9 / 99, abs=0.03)
    everything = _sample_pixels(void, inverse, 500, 1.5)
    assert everything.shape == (1, 100) and everything[0, -1].item() == 99


def test_sampled_semantic_loss_hand_case():
    logits = torch.log(torch.tensor([[[0.8, 0.3, 0.5], [0.2, 0.7, 0.5]]]))  # B x C x L
    labels = torch.tensor([[0, 1, 255]])
    expected = (-math.log(0.8) - math.log(0.7)) / 2
    all_pixels = SampledSemanticLoss(num_samples=0)(logits, labels)
    assert all_pixels.item() == pytest.approx(expected, rel=1e-6)
    # sampling 2 of 3 pixels never draws the void one
    inverse = torch.tensor([[3., 3., 3.]])
    sampled = SampledSemanticLoss(num_samples=2)(logits, labels, labels == 255, inverse)
    assert sampled.item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match='inverse_area'):
        SampledSemanticLoss(num_samples=2)(logits, labels)

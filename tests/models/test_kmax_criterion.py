"""PQ-style matching cost, Hungarian matching with it, PQ weights and the kMaX criterion."""
import math

import pytest
import torch
from mmengine.structures import InstanceData

from mmvps.models.heads.kmax import KMaXCriterion
from mmvps.models.task_modules import PQStyleMatchCost
from mmvps.registry import MODELS, TASK_UTILS
from mmvps.utils import register_all_modules

EPS = 1e-5

# T = 2 frames of 1 x 2 pixels. q0 / q1 mask-ID probabilities over the 4 pixels:
# q0 = (.75, .75, .25, .25), q1 = (.25, .25, .75, .75); q2 has none (logit -inf)
PROBS = torch.tensor([[.75, .75, .25, .25], [.25, .25, .75, .75]])
# g0 covers pixels 0, 1 (class 0), g1 pixel 2 (class 1); pixel 3 is void
GT_MASKS = torch.tensor([[1., 1., 0., 0.], [0., 0., 1., 0.]])
GT_LABELS = torch.tensor([0, 1])
# C = 2 + void: q0 says class 1, q1 class 0 (so the masks and the classes disagree)
CLASS_PROBS = torch.tensor([[.1, .8, .1], [.8, .1, .1], [.2, .2, .6]])


def mask_sim(p, g):
    """Hand dice of the hand case: p zeroed on the void pixel 3."""
    p = p.clone()
    p[3] = 0
    return (p * g).sum().item() / ((p.sum().item() + g.sum().item()) / 2 + EPS)


def pred_instances(num_queries=2):
    logits = torch.log(PROBS)
    if num_queries == 3:
        logits = torch.cat([logits, torch.full((1, 4), -1e4)])
    return InstanceData(scores=torch.log(CLASS_PROBS[:num_queries]),
                        masks=logits.view(num_queries, 2, 1, 2))


def gt_instances():
    return InstanceData(labels=GT_LABELS, masks=GT_MASKS.view(2, 2, 1, 2))


def test_pq_style_match_cost_hand_case():
    cost = PQStyleMatchCost()(pred_instances(), gt_instances())
    expected = [[-mask_sim(PROBS[q], GT_MASKS[g]) * CLASS_PROBS[q, GT_LABELS[g]].item()
                 for g in range(2)] for q in range(2)]
    # e.g. q0-g0: dice 1.5 / ((1.75 + 2) / 2 + 1e-5), class prob 0.1
    assert expected[0][0] == pytest.approx(-1.5 / (1.875 + EPS) * 0.1)
    assert torch.allclose(cost, torch.tensor(expected), atol=1e-6)
    assert torch.allclose(PQStyleMatchCost(weight=2.)(pred_instances(), gt_instances()),
                          2 * cost)


def test_hungarian_assigner_with_pq_cost_follows_the_product():
    register_all_modules()
    assigner = TASK_UTILS.build(dict(type='HungarianAssigner',
                                     match_costs=[dict(type='PQStyleMatchCost')]))
    result = assigner.assign(pred_instances(3), gt_instances())
    # masks alone would pair q0-g0, q1-g1; the class probabilities swap the pairs; q2 unmatched
    assert result.gt_inds.tolist() == [2, 1, 0]


def test_match_cost_rejects_mismatched_sizes():
    gt = InstanceData(labels=GT_LABELS, masks=torch.zeros(2, 1, 1, 2))
    with pytest.raises(ValueError, match='differ in size'):
        PQStyleMatchCost()(pred_instances(), gt)


def criterion_inputs(num_queries=3):
    pred = pred_instances(num_queries)
    outputs = dict(class_logits=pred.scores[None], mask_logits=pred.masks[None],
                   pixel_feature=torch.nn.functional.normalize(torch.randn(1, 4, 2, 1, 2), dim=1))
    target = InstanceData(metainfo=dict(ignore_mask=GT_MASKS.sum(0).view(2, 1, 2) == 0,
                                        sem_seg=torch.tensor([[[0, 0]], [[1, 255]]])))
    target.labels = GT_LABELS
    target.masks = GT_MASKS.view(2, 2, 1, 2)
    return outputs, [target]


def test_pq_weights_of_matched_and_unmatched_queries():
    register_all_modules()
    criterion = KMaXCriterion(num_classes=2)
    outputs, targets = criterion_inputs()
    processed = criterion.process_targets(outputs, targets)
    assert processed['labels'].tolist() == [[1, 0, 2]]  # q0 -> g1, q1 -> g0, q2 void
    assert torch.equal(processed['masks'][0, :2], GT_MASKS[[1, 0]])
    assert not processed['masks'][0, 2].any()
    assert processed['void'].tolist() == [[False, False, False, True]]
    # class term weight of a matched query = its dice with its target
    class_weights = processed['class_weights'][0]
    assert class_weights[0].item() == pytest.approx(mask_sim(PROBS[0], GT_MASKS[1]), rel=1e-5)
    assert class_weights[1].item() == pytest.approx(mask_sim(PROBS[1], GT_MASKS[0]), rel=1e-5)
    # unmatched: its probability mass on void over its mass (~0 here: clamped to 1e-5)
    assert class_weights[2].item() == pytest.approx(1e-5)
    # dice term weight = matched class probability; 0 for the unmatched query
    assert processed['dice_weights'][0].tolist() == pytest.approx([0.8, 0.8, 0.0], rel=1e-5)
    # inverse area: 4 pixels / area of the covering target (void counts 1)
    assert processed['inverse_area'][0].tolist() == pytest.approx([2., 2., 4., 4.])


def test_unmatched_query_weight_is_its_overlap_with_void():
    criterion = KMaXCriterion(num_classes=2)
    outputs, targets = criterion_inputs()
    # q2 now owns half of the void pixel 3 and a bit of pixel 0
    probs = torch.tensor([[.7, .75, .25, .25], [.2, .25, .75, .25], [.1, 0., 0., .5]])
    outputs['mask_logits'] = torch.log(probs.clamp(min=1e-12)).view(1, 3, 2, 1, 2)
    processed = criterion.process_targets(outputs, targets)
    q2_mass = probs[2].sum().item()
    assert processed['labels'][0, 2].item() == 2
    assert processed['class_weights'][0, 2].item() == pytest.approx(0.5 / (q2_mass + 1e-5),
                                                                    rel=1e-4)


def test_criterion_loss_keys_values_and_fp32():
    register_all_modules()
    criterion = MODELS.build(dict(type='KMaXCriterion', num_classes=2))
    outputs, targets = criterion_inputs()
    aux = dict(outputs)
    outputs['aux_outputs'] = [aux, aux]
    semantic = torch.randn(2, 2, 1, 2)
    losses = criterion(outputs, semantic, targets)
    names = ['loss_pq_class', 'loss_pq_dice', 'loss_mask_id', 'loss_instance_discrimination']
    assert set(losses) == set(names) | {f's{i}.{n}' for i in range(2) for n in names} | {
        'loss_semantic'}
    for name in names:  # identical aux outputs with shared matching: identical losses
        assert losses[f's0.{name}'].item() == pytest.approx(losses[name].item())
    processed = criterion.process_targets(outputs, targets)
    expected = criterion.loss_pq_class(outputs['class_logits'], processed['labels'],
                                       processed['class_weights'])
    assert losses['loss_pq_class'].item() == pytest.approx(expected.item())
    # hand value of the class term: q0, q1 matched (prob 0.8, weight = dice), q2 void
    ce = [-math.log(.8) * .75 * mask_sim(PROBS[0], GT_MASKS[1]),
          -math.log(.8) * .75 * mask_sim(PROBS[1], GT_MASKS[0]), -math.log(.6) * .25 * 1e-5]
    assert losses['loss_pq_class'].item() == pytest.approx(3.0 * sum(ce) / 3, rel=1e-4)
    # semantic: all 3 labelled pixels drawn (K = 4096 > 4); 255 ignored
    log_probs = semantic.log_softmax(1).view(2, 2, 2)  # frame, class, pixel
    sem_expected = -(log_probs[0, 0, 0] + log_probs[0, 0, 1] + log_probs[1, 1, 0]) / 3
    assert losses['loss_semantic'].item() == pytest.approx(sem_expected.item(), rel=1e-5)

    half = {key: value.to(torch.bfloat16) for key, value in outputs.items()
            if key != 'aux_outputs'}
    half_losses = criterion(half, semantic.to(torch.bfloat16), targets)
    assert all(value.dtype == torch.float32 for value in half_losses.values())


def test_shared_matching_versus_matching_every_output():
    outputs, targets = criterion_inputs()
    # the aux output lists the queries in another order: matched on its own it gives the same
    # losses as the final output, with the final matching it does not
    perm = torch.tensor([2, 0, 1])
    aux = {key: value[:, perm] if key != 'pixel_feature' else value
           for key, value in outputs.items()}
    outputs['aux_outputs'] = [aux]
    criterion = KMaXCriterion(num_classes=2, loss_instance_discrimination=None,
                              loss_semantic=None)
    own = KMaXCriterion(num_classes=2, loss_instance_discrimination=None, loss_semantic=None,
                        share_final_matching=False)
    shared_losses, own_losses = criterion(outputs, None, targets), own(outputs, None, targets)
    for name in ('loss_pq_class', 'loss_pq_dice', 'loss_mask_id'):
        assert own_losses[f's0.{name}'].item() == pytest.approx(own_losses[name].item(),
                                                                rel=1e-6)
        assert shared_losses[f's0.{name}'].item() != pytest.approx(shared_losses[name].item(),
                                                                   rel=1e-3)
    assert 'loss_semantic' not in shared_losses


def test_criterion_backward_and_empty_targets():
    criterion = KMaXCriterion(num_classes=2)
    torch.manual_seed(0)
    outputs = dict(class_logits=torch.randn(2, 4, 3, requires_grad=True),
                   mask_logits=torch.randn(2, 4, 2, 3, 3, requires_grad=True),
                   pixel_feature=torch.randn(2, 8, 2, 3, 3, requires_grad=True))
    full = InstanceData(metainfo=dict(ignore_mask=torch.zeros(2, 3, 3, dtype=torch.bool),
                                      sem_seg=torch.zeros(2, 3, 3, dtype=torch.long)))
    full.labels = torch.tensor([0])
    full.masks = torch.ones(1, 2, 3, 3)
    empty = InstanceData(metainfo=dict(ignore_mask=torch.ones(2, 3, 3, dtype=torch.bool),
                                       sem_seg=torch.full((2, 3, 3), 255)))
    empty.labels = torch.zeros(0, dtype=torch.long)
    empty.masks = torch.zeros(0, 2, 3, 3)
    losses = criterion(outputs, torch.randn(4, 2, 3, 3), [full, empty])
    assert all(torch.isfinite(value) for value in losses.values())
    sum(losses.values()).backward()
    assert outputs['mask_logits'].grad.abs().sum() > 0
    assert outputs['pixel_feature'].grad[0].abs().sum() > 0


def test_criterion_rejects_bad_inputs():
    criterion = KMaXCriterion(num_classes=3)
    outputs, targets = criterion_inputs()
    with pytest.raises(ValueError, match='num_classes'):
        criterion(outputs, None, targets)
    criterion = KMaXCriterion(num_classes=2)
    outputs['mask_logits'] = outputs['mask_logits'][..., :1]
    with pytest.raises(ValueError, match='mask_size'):
        criterion(outputs, None, targets)

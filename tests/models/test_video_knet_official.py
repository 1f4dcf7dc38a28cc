"""Official-code options of K-Net / Video K-Net (lxtGH/Video-K-Net), each against hand-computed
values: stride-8 Semantic FPN with an aux output, semantic head, masked initial kernels, hard
assembling, K-Net's match costs, the official joint paste, assignment on the previous stage,
the 5-layer embedding head, QDTrack's L2 loss, tracker box NMS, official linking and the crop
filter."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.layers import ConvUpsample
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmvps.datasets.transforms import FilterAssociationFreeClips
from mmvps.models.heads import (ConvKernelHead, KernelFusion, KernelIterHead, KernelLinking,
                                KNetDiceCost, KNetMaskCost, assemble_group_features)
from mmvps.models.losses import AssociationL2Loss
from mmvps.models.necks import SemanticFPN
from mmvps.models.track_heads import KernelAssociationEmbedHead
from mmvps.models.trackers import QuasiDenseKernelTracker
from mmvps.registry import MODELS
from mmvps.utils import register_all_modules

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module', autouse=True)
def _register():
    register_all_modules()


# ---------------------------------------------------------------- neck


def _levels(size=(32, 48), channels=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    return [torch.randn(1, channels, h // 2**i, w // 2**i, generator=gen) for i in range(4)]


def test_semantic_fpn_stride_8_layout_and_aux_output():
    fpn = SemanticFPN(in_channels=32, feat_channels=32, out_channels=16, out_stride=8,
                      num_aux_convs=1,
                      positional_encoding=dict(type='SinePositionalEncoding', num_feats=16,
                                               normalize=True),
                      norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    # official layout: level 0 one stride-2 conv; level i > 0: i convs, i - 1 upsamplings
    assert fpn.level_convs[0].conv[0].conv.stride == (2, 2)
    assert [len(level.conv) for level in fpn.level_convs] == [1, 1, 2, 3]
    assert [level.num_upsample for level in fpn.level_convs] == [0, 0, 1, 2]
    out, aux = fpn(_levels())
    assert out.shape == aux.shape == (1, 16, 16, 24)  # stride 8 of a 128x192 image
    # aux is a second 1x1 conv of the same fused map: equal convs give equal outputs
    fpn.aux_convs[0].load_state_dict(fpn.conv_pred.state_dict())
    out, aux = fpn(_levels())
    assert torch.equal(out, aux)


def test_semantic_fpn_stride_4_equals_mmdet_conv_upsample():
    """The default (stride 4, no aux) is the previous ConvUpsample-based module."""
    torch.manual_seed(0)
    fpn = SemanticFPN(in_channels=32, feat_channels=32, out_channels=32, positional_encoding=None,
                      norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    inputs = _levels()
    fused = 0
    for level, convs in enumerate(fpn.level_convs):
        reference = ConvUpsample(32, 32, num_layers=max(level, 1), num_upsample=level,
                                 norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
        reference.load_state_dict(convs.state_dict())
        fused = fused + reference(inputs[level])
    assert torch.allclose(fpn(inputs), fpn.conv_pred(fused), atol=1e-6)


def test_official_conv_init():
    torch.manual_seed(0)
    kwargs = dict(in_channels=32, feat_channels=32, out_channels=32, positional_encoding=None,
                  norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    fpn = SemanticFPN(conv_init_std=0.01, **kwargs)
    fpn.init_weights()
    weights = torch.cat([m.weight.flatten() for m in fpn.modules()
                         if isinstance(m, torch.nn.Conv2d)])
    assert 0.009 < weights.std().item() < 0.011
    default = SemanticFPN(**kwargs)
    default.init_weights()
    assert default.level_convs[0].conv[0].conv.weight.std().item() > 0.03
    head = _kernel_head(num_loc_convs=1, num_seg_convs=1, in_channels=32, out_channels=32,
                        conv_init_std=0.01)
    head.init_weights()
    assert head.loc_convs[0].conv.weight.std().item() < 0.02
    assert head.thing_kernels.weight.std().item() > 0.5  # kernels keep kernel_init_std=1


def test_semantic_fpn_rejects_bad_options():
    with pytest.raises(ValueError, match='out_stride'):
        SemanticFPN(in_channels=32, feat_channels=32, out_channels=32, out_stride=16,
                    positional_encoding=None)
    with pytest.raises(ValueError, match='num_aux_convs'):
        SemanticFPN(in_channels=32, feat_channels=32, out_channels=32, num_aux_convs=2,
                    positional_encoding=None)


# ---------------------------------------------------------------- kernel head


def test_hard_group_feature_assembling_hand_example():
    masks = torch.tensor([[[2.0, -2.0], [0.1, -0.1]]])[None]  # [1, 1, 2, 2]
    feats = torch.tensor([[[1.0, 10.0], [100.0, 1000.0]]])[None]  # [1, 1, 2, 2]
    # binarised at 0.5: pixels with positive logits (2.0 and 0.1) count fully
    assert assemble_group_features(masks, feats, 0.5).item() == pytest.approx(101.0)
    soft = (torch.sigmoid(masks) * feats).sum().item()
    assert assemble_group_features(masks, feats).item() == pytest.approx(soft)


def _kernel_head(**kwargs):
    cfg = dict(num_proposals=2, num_thing_classes=1, num_stuff_classes=2, in_channels=2,
               out_channels=2, num_loc_convs=0, num_seg_convs=0, norm_cfg=None)
    cfg.update(kwargs)
    return ConvKernelHead(**cfg)


def test_semantic_head_gives_stuff_kernels_and_masks_with_bias():
    head = _kernel_head(semantic_head=True)
    assert not hasattr(head, 'stuff_kernels')
    with torch.no_grad():
        head.thing_kernels.weight.copy_(torch.tensor([[1., 0.], [0., 1.]])[..., None, None])
        head.conv_seg.weight.copy_(torch.tensor([[9., 9.], [1., 2.], [3., -1.]])[..., None,
                                                                                    None])
        head.conv_seg.bias.copy_(torch.tensor([5., 0.5, -0.5]))
    x = torch.tensor([[1., 2.], [3., 4.]])[None, :, None, :]  # [1, C=2, 1, 2]: pixels (1,3),(2,4)
    kernels, feats, masks, seg = head.forward_with_seg(x)
    # no branch convs: both branches are x, the stage features are their sum
    assert torch.equal(feats, 2 * x)
    assert torch.equal(kernels[0], torch.tensor([[1., 0.], [0., 1.], [1., 2.], [3., -1.]]))
    # stuff masks: rows 1-2 of the semantic head, bias included
    assert torch.allclose(masks[0, 2, 0], torch.tensor([1 + 6 + 0.5, 2 + 8 + 0.5]))
    assert torch.allclose(masks[0, 3, 0], torch.tensor([3 - 3 - 0.5, 6 - 4 - 0.5]))
    assert torch.allclose(seg[0, 0, 0], torch.tensor([9 + 27 + 5., 18 + 36 + 5.]))


def test_proposal_feats_with_obj_adds_features_under_binary_masks():
    head = _kernel_head(semantic_head=True, proposal_feats_with_obj=True)
    with torch.no_grad():
        # thing kernel 0 fires on pixel 0 only, kernel 1 on no pixel
        head.thing_kernels.weight.copy_(torch.tensor([[1., -1.], [-1., -1.]])[..., None, None])
    x = torch.tensor([[3., 1.], [1., 2.]])[None, :, None, :]  # pixel 0: (3, 1), pixel 1: (1, 2)
    kernels = head(x)[0][0]
    # kernel 0: its weight + the stage features (2 x) of pixel 0
    assert torch.equal(kernels[0], torch.tensor([1. + 6., -1. + 2.]))
    assert torch.equal(kernels[1], torch.tensor([-1., -1.]))


def test_rank_and_seg_targets_hand_example():
    head = _kernel_head(semantic_head=True, num_proposals=3)
    # kernels 0 and 2 matched to GT 0 / GT 1 (things, class 0), stuff kernel 3 -> GT 2 (class 1)
    mask_targets = torch.zeros(5, 2, 3)
    mask_targets[0, 0, :2] = 1
    mask_targets[2, :, 1] = 1
    targets = InstanceData(assigned_gt_inds=torch.tensor([0, -1, 1, 2, -1]),
                           mask_targets=mask_targets)
    rank = head.rank_targets(targets)
    # pixel (0, 1) is covered by both: the higher kernel index wins (K-Net's loop order)
    assert rank.tolist() == [[0, 2, 255], [255, 2, 255]]
    gt_masks = torch.zeros(3, 2, 3)
    gt_masks[0, 0, :2] = 1
    gt_masks[1, :, 1] = 1
    gt_masks[2, 1, :] = 1  # stuff class 1 on the bottom row, under thing GT 1 at (1, 1)
    gt = InstanceData(labels=torch.tensor([0, 0, 1]), masks=gt_masks)
    seg = head.seg_targets(targets, gt)
    # stuff first, then the matched things on top; pixel (0, 2) has no target (ignored = 3)
    assert seg.tolist() == [[0, 0, 3], [1, 0, 1]]


def test_semantic_losses_and_thing_only_mask_losses():
    head = _kernel_head(
        semantic_head=True, stuff_mask_losses=False,
        loss_seg=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_rank=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1),
        train_cfg=dict(assigner=dict(type='HungarianAssigner', match_costs=[
            dict(type='KNetDiceCost', weight=4.0), dict(type='KNetMaskCost', weight=1.0)]),
            sampler=dict(type='MaskPseudoSampler')))
    masks = torch.zeros(1, 4, 2, 2)
    seg = torch.zeros(1, 3, 2, 2)
    gt_masks = torch.tensor([[[1., 0.], [0., 0.]], [[0., 1.], [1., 1.]]])
    gt = InstanceData(metainfo=dict(ignore_mask=torch.zeros(2, 2, dtype=torch.bool)),
                      labels=torch.tensor([0, 2]), masks=gt_masks)
    losses = head.loss_by_feat(masks, [gt], seg)
    # uniform logits: softmax CE over 3 classes on every pixel = log 3; rank CE over the 2 thing
    # kernels on the one ranked pixel (of 4, mean over all pixels) = log 2 / 4
    assert losses['loss_init_seg'].item() == pytest.approx(math.log(3), abs=1e-5)
    assert losses['loss_init_rank'].item() == pytest.approx(0.1 * math.log(2) / 4, abs=1e-5)
    # BCE on the matched thing only: logits 0 -> log 2 per pixel
    assert losses['loss_init_mask'].item() == pytest.approx(math.log(2), abs=1e-5)


# ---------------------------------------------------------------- match costs


def test_knet_dice_and_mask_costs_hand_example():
    pred = InstanceData(masks=torch.tensor([[[0., 100.]], [[100., -100.]]]))  # p = .5,1 / 1,0
    gt = InstanceData(masks=torch.tensor([[[0., 1.]]]))
    dice = KNetDiceCost(weight=4.0)(pred, gt)
    # kernel 0: -2 * 1 / ((0.25 + 1 + 1e-3) + (1 + 1e-3)); kernel 1: p clamped to 0.001 at 0
    assert dice[0, 0].item() == pytest.approx(-4 * 2 / (2.25 + 2e-3), rel=1e-5)
    assert dice[1, 0].item() == pytest.approx(-4 * 2 * 0.001 / (1 + 1e-6 + 1 + 2e-3), rel=1e-4)
    mask = KNetMaskCost(weight=1.0)(pred, gt)
    # -(sum p t + sum (1 - p)(1 - t)) / hw: kernel 0: -(1 + 0.5) / 2; kernel 1: -(0.01 + 0) / 2
    assert mask[0, 0].item() == pytest.approx(-0.75, rel=1e-5)
    assert mask[1, 0].item() == pytest.approx(-0.005, rel=1e-4)


# ---------------------------------------------------------------- official joint paste


def _paste_head(num_proposals=2, num_things=2, num_stuff=1, **test_cfg):
    cfg = dict(merge_mode='official_joint', instance_score_thr=0.25, overlap_thr=0.6,
               max_per_img=100)
    cfg.update(test_cfg)
    return KernelIterHead(
        num_stages=1, stage_loss_weights=(1, ), num_proposals=num_proposals,
        num_thing_classes=num_things, num_stuff_classes=num_stuff,
        mask_head=dict(type='KernelUpdateHead', num_classes=num_things + num_stuff,
                       in_channels=8, num_heads=2, feedforward_channels=16,
                       kernel_updator_cfg=dict(type='KernelUpdator', in_channels=8,
                                               feat_channels=8)),
        test_cfg=cfg)


def _logit(p):
    return math.log(p / (1 - p))


def test_official_joint_paste_hand_example():
    """1x4 image. Thing kernel 0 (class 0, 0.9) covers columns 0-1, thing kernel 1 (class 1,
    0.5) columns 1-3 weakly, the stuff kernel (0.4) columns 2-3 strongly."""
    head = _paste_head()
    scores = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.5, 0.0], [0.0, 0.0, 0.4]])
    probs = torch.tensor([[0.9, 0.9, 0.1, 0.1], [0.1, 0.6, 0.6, 0.6], [0.1, 0.1, 0.95, 0.95]])
    masks = probs.log() - (1 - probs).log()
    pan, segs = head.panoptic_postprocess(scores, masks[:, None], dict(
        batch_input_shape=(1, 4), img_shape=(1, 4), ori_shape=(1, 4)))
    # score * p: column 1: 0.81 (k0) vs 0.3 (k1, class 1); columns 2-3: 0.38 (stuff) vs 0.3
    # k1 wins no pixel; its pair (k1, class 0, 0.2) is below 0.25; k0 keeps 2 of 2 pixels
    assert pan[0].tolist() == [1000, 1000, 2, 2]
    assert segs.kernel_inds.tolist() == [0]
    assert segs.labels.tolist() == [0]


def test_official_joint_paste_area_ratio_and_pairs():
    head = _paste_head(num_stuff=1)
    # kernel 0 is confident for both thing classes: two candidates of the same kernel
    scores = torch.tensor([[0.8, 0.7, 0.0], [0.3, 0.0, 0.0], [0.0, 0.0, 0.5]])
    probs = torch.tensor([[0.9, 0.9, 0.9, 0.1, 0.1], [0.1, 0.1, 0.6, 0.6, 0.1],
                          [0.2, 0.2, 0.2, 0.2, 0.9]])
    masks = probs.log() - (1 - probs).log()
    pan, segs = head.panoptic_postprocess(scores, masks[:, None], dict(
        batch_input_shape=(1, 5), img_shape=(1, 5), ori_shape=(1, 5)))
    # k1 (0.3): wins column 3 only (0.18 vs 0.1 (stuff) ...); its p >= 0.5 area is 2 -> 1 / 2
    # = 0.5 < 0.6: dropped, so column 3 stays void. (k0, class 1) wins nothing (ties go to the
    # first candidate, (k0, class 0)).
    assert pan[0].tolist() == [1000, 1000, 1000, 3, 2]
    assert segs.kernel_inds.tolist() == [0]
    head.test_cfg['overlap_thr'] = 0.5
    pan, segs = head.panoptic_postprocess(scores, masks[:, None], dict(
        batch_input_shape=(1, 5), img_shape=(1, 5), ori_shape=(1, 5)))
    assert pan[0].tolist() == [1000, 1000, 1000, 2000, 2]
    assert segs.kernel_inds.tolist() == [0, 1]


def test_rescale_probs_and_mask_upsample_order():
    head = _paste_head()
    head.mask_upsample_stride = 2
    head.test_cfg['rescale_probs'] = True
    masks = torch.tensor([[[-4., 4.]]])
    meta = dict(batch_input_shape=(2, 8), img_shape=(2, 6), ori_shape=(2, 6))
    logits_up = F.interpolate(masks[None], scale_factor=2, mode='bilinear', align_corners=False)
    expected = F.interpolate(logits_up.sigmoid(), size=(2, 8), mode='bilinear',
                             align_corners=False)[0, :, :, :6]
    assert torch.allclose(head._rescale_masks(masks, meta, True), expected)
    head.test_cfg['rescale_probs'] = False
    expected = F.interpolate(logits_up, size=(2, 8), mode='bilinear',
                             align_corners=False)[0, :, :, :6].sigmoid()
    assert torch.allclose(head._rescale_masks(masks, meta, True), expected)


# ---------------------------------------------------------------- assignment on the previous stage


def test_assignment_uses_the_previous_stage(monkeypatch):
    from mmvps.models.heads import kernel_iter_head as module
    head = KernelIterHead(
        num_stages=2, stage_loss_weights=(1, 1), num_proposals=2, num_thing_classes=1,
        num_stuff_classes=1, assign_on_previous=True, mask_upsample_stride=2,
        mask_head=dict(type='KernelUpdateHead', num_classes=2, in_channels=8, num_heads=2,
                       feedforward_channels=16,
                       kernel_updator_cfg=dict(type='KernelUpdator', in_channels=8,
                                               feat_channels=8)),
        train_cfg=dict(assigner=dict(type='HungarianAssigner', match_costs=[
            dict(type='FocalLossCost', weight=2.0), dict(type='KNetDiceCost', weight=4.0)]),
            sampler=dict(type='MaskPseudoSampler')))
    # stage 0 is matched without class scores: the Focal cost is left out of its assigner
    assert [type(c).__name__ for c in head.initial_assigner.match_costs] == ['KNetDiceCost']
    calls = []
    real = module.get_kernel_targets

    def recording(masks, scores, gt, assigner, *args):
        calls.append((masks.clone(), None if scores is None else scores.clone(), assigner))
        return real(masks, scores, gt, assigner, *args)

    monkeypatch.setattr(module, 'get_kernel_targets', recording)
    torch.manual_seed(0)
    feats, kernels = torch.randn(1, 8, 4, 4), torch.randn(1, 3, 8)
    init_masks = torch.randn(1, 3, 4, 4)
    gt = InstanceData(metainfo=dict(ignore_mask=torch.zeros(8, 8, dtype=torch.bool)),
                      labels=torch.tensor([0, 1]), masks=(torch.rand(2, 8, 8) > 0.5).float(),
                      instances_ids=torch.tensor([1, -1]))
    outputs = head(feats, kernels, init_masks)
    _, results = head.loss(feats, kernels, init_masks, [gt])
    up = head.upsample
    # stage 0: initial masks (x2), no scores; stage 1: stage 0's outputs; then the last stage's
    # own outputs for the association samples
    assert torch.allclose(calls[0][0], up(init_masks)[0]) and calls[0][1] is None
    assert calls[0][2] is head.initial_assigner
    assert torch.allclose(calls[1][0], up(outputs[0][1])[0], atol=1e-5)
    assert torch.allclose(calls[1][1], outputs[0][0][0], atol=1e-5)
    assert torch.allclose(calls[2][0], up(outputs[1][1])[0], atol=1e-5)
    assert len(calls) == 3 and results[0].mask_preds.shape == (3, 8, 8)


# ---------------------------------------------------------------- embeddings and losses


def test_official_embedding_head_is_five_linear_layers():
    head = KernelAssociationEmbedHead(in_channels=4, embed_channels=4, num_fcs=1, num_out_fcs=2,
                                      pos_iou_thr=None)
    head.init_weights()
    x = torch.randn(3, 4)
    y = head.fc_embed(F.relu(F.layer_norm(x @ head.embed_fcs[0].weight.t(), (4, ),
                                          head.embed_fcs[1].weight, head.embed_fcs[1].bias)))
    for fc in head.fcs:
        y = F.relu(fc(y))
    assert torch.allclose(head(x), head.fc_out(y), atol=1e-6)
    assert sum(isinstance(m, torch.nn.Linear) for m in head.modules()) == 5
    # no IoU filter: every matched kernel is a sample of its GT, no negatives
    inds, gt_inds = head.sample_kernels(torch.full((3, 2, 2), -10.), torch.ones(2, 2, 2),
                                        torch.tensor([1, -1, 0]))
    assert inds.tolist() == [0, 2] and gt_inds.tolist() == [1, 0]


def test_qdtrack_l2_margin_clamp_and_mean_over_kept_pairs():
    loss = AssociationL2Loss(qdtrack=True, neg_margin=0.1, neg_pos_ub=3, hard_mining=True)
    cosine = torch.tensor([[0.9, 0.5, 0.2, 0.05, 0.3]])
    target = torch.tensor([[1, 0, 0, 0, 0]])
    # 4 negatives <= 3 x (1 + 1): all kept; negatives lowered by 0.1 and clamped at 0
    expected = (0.1**2 + 0.4**2 + 0.1**2 + 0.0 + 0.2**2) / 5
    assert loss(cosine, target).item() == pytest.approx(expected, rel=1e-5)
    assert AssociationL2Loss()(cosine, target).item() == pytest.approx(
        ((cosine - target)**2).mean().item(), rel=1e-6)


def test_qdtrack_l2_hard_negative_mining():
    loss = AssociationL2Loss(qdtrack=True, neg_margin=0.0, neg_pos_ub=3, hard_mining=True)
    cosine = torch.tensor([[1.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]])
    target = torch.tensor([[1, 0, 0, 0, 0, 0, 0, 0, 0]])
    # 8 negatives > 3 x (1 + 1): keep the 3 hardest (0.8, 0.7, 0.6) and the positive
    expected = (0.0 + 0.8**2 + 0.7**2 + 0.6**2) / 4
    assert loss(cosine, target).item() == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------- tracker


def _box_tracker(**kwargs):
    cfg = dict(init_score_thr=0.35, obj_score_thr=0.3, match_score_thr=0.5, num_frames_retain=5,
               memo_backdrop_frames=1, with_box_nms=True, nms_backdrop_iou_thr=0.3,
               nms_class_iou_thr=0.7)
    cfg.update(kwargs)
    return QuasiDenseKernelTracker(**cfg)


def test_tracker_box_deduplication():
    tracker = _box_tracker()
    embeds = torch.eye(4) * 10
    labels = torch.zeros(4, dtype=torch.long)
    scores = torch.tensor([0.9, 0.8, 0.2, 0.6])
    # box 1 overlaps box 0 by IoU 0.81 > 0.7 (dropped); box 2 (low score) overlaps box 3 by
    # IoU 0.5 > 0.3 (dropped); box 3 overlaps box 0 by 0 (kept)
    boxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 9., 9.], [20., 0., 30., 10.],
                          [20., 0., 30., 5.]])
    ids = tracker.track(embeds, labels, scores, 0, bboxes=boxes)
    assert ids.tolist() == [1, 0, 0, 2]
    with pytest.raises(ValueError, match='box'):
        tracker.track(embeds, labels, scores, 1)


def test_tracker_backdrop_nms():
    tracker = _box_tracker(nms_class_iou_thr=0.99)
    embeds = torch.eye(3) * 10
    labels = torch.zeros(3, dtype=torch.long)
    # scores below init_score_thr: nobody starts a track, all are backdrop candidates; box 1
    # overlaps box 0 by IoU 0.5 (> 0.3): not a backdrop. (0.25 < obj_score_thr, so the
    # duplicate removal would use 0.3 too: give box 1 a score above obj_score_thr.)
    scores = torch.tensor([0.34, 0.33, 0.32])
    boxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 5.], [50., 50., 60., 60.]])
    ids = tracker.track(embeds, labels, scores, 0, bboxes=boxes)
    assert ids.tolist() == [0, 0, 0]
    assert tracker.backdrops[0]['labels'].numel() == 2
    assert torch.equal(tracker.backdrops[0]['embeds'], embeds[[0, 2]])


# ---------------------------------------------------------------- linking and fusion variants


def test_kernel_linking_with_kernel_update_updates_the_reference():
    torch.manual_seed(0)
    link = KernelLinking(in_channels=8, num_heads=2, feedforward_channels=16,
                         with_kernel_update=True)
    link.init_weights()
    key, ref, group = torch.randn(1, 3, 8), torch.randn(1, 3, 8), torch.randn(1, 3, 8)
    plain = KernelLinking(in_channels=8, num_heads=2, feedforward_channels=16)
    plain.load_state_dict({k: v for k, v in link.state_dict().items()
                           if not k.startswith('kernel_updator.')})
    expected = plain(key, link.kernel_updator(group, ref))
    assert torch.allclose(link(key, ref, group_feats=group), expected, atol=1e-6)
    with pytest.raises(ValueError, match='group features'):
        link(key, ref)


def test_official_kernel_fusion_inside_the_last_stage():
    torch.manual_seed(0)
    head = KernelIterHead(
        num_stages=1, stage_loss_weights=(1, ), num_proposals=2, num_thing_classes=1,
        num_stuff_classes=1,
        mask_head=dict(type='KernelUpdateHead', num_classes=2, in_channels=8, num_heads=2,
                       feedforward_channels=16, hard_mask_thr=0.5,
                       kernel_updator_cfg=dict(type='KernelUpdator', in_channels=8,
                                               feat_channels=8)),
        kernel_fusion=dict(type='KernelFusion', in_channels=8, num_heads=2,
                           feedforward_channels=16, mode='official',
                           kernel_updator_cfg=dict(type='KernelUpdator', in_channels=8,
                                                   feat_channels=8)))
    head.init_weights()
    fusion = head.kernel_fusion
    assert isinstance(fusion, KernelFusion) and not hasattr(fusion, 'mask_fc')
    feats, kernels, masks = torch.randn(1, 8, 4, 4), torch.randn(1, 3, 8), torch.randn(1, 3, 4, 4)
    previous = torch.randn(1, 3, 8)
    stage = head.mask_head[0]
    group = assemble_group_features(masks, stage.feat_transform(feats), 0.5)
    fused = fusion(kernels, previous, group_feats=group)
    expected = stage(feats, fused, masks)
    got = head(feats, kernels, masks, previous_kernels=previous)[-1]
    for a, b in zip(got, expected):
        assert torch.allclose(a, b, atol=1e-5)


# ---------------------------------------------------------------- the video model


def _official_tiny_video_cfg():
    cfg = Config.fromfile(REPO_ROOT / 'configs/_base_/models/video_knet_r18_tiny.py').model
    det = cfg.detector
    det.neck[1].update(out_stride=8, num_aux_convs=1)
    det.kernel_head.update(num_proposals=8, semantic_head=True, proposal_feats_with_obj=True,
                           stuff_mask_losses=False, mask_upsample_stride=4,
                           loss_seg=dict(type='CrossEntropyLoss', use_sigmoid=False),
                           loss_rank=dict(type='CrossEntropyLoss', use_sigmoid=False,
                                          loss_weight=0.1))
    det.kernel_iter_head.update(num_proposals=8, mask_upsample_stride=4, assign_on_previous=True,
                                kernel_fusion=None)
    det.kernel_iter_head.mask_head.hard_mask_thr = 0.5
    for name in ('kernel_head', 'kernel_iter_head'):
        costs = det.train_cfg[name].assigner.match_costs
        det.train_cfg[name].assigner.match_costs = [
            c for c in costs if c.type == 'FocalLossCost'] + [
                dict(type='KNetDiceCost', weight=4.0), dict(type='KNetMaskCost', weight=1.0)]
    det.test_cfg.update(merge_mode='official_joint', instance_score_thr=0.25, rescale_probs=True)
    cfg.link_mode = 'official'
    cfg.track_head.update(num_fcs=1, num_out_fcs=2, pos_iou_thr=None,
                          loss_track_aux=dict(type='AssociationL2Loss', qdtrack=True))
    cfg.tracker.update(with_box_nms=True, nms_backdrop_iou_thr=0.3, nms_class_iou_thr=0.7)
    return cfg


def test_official_video_knet_trains_and_links_as_the_official_code():
    from test_video_knet import build, predict_batch, train_batch
    model = build(_official_tiny_video_cfg())
    losses = model.loss(**train_batch(model, 2, 0))
    for name in ('loss_init_seg', 'loss_init_rank', 's2.loss_cls', 'loss_track',
                 'loss_track_aux', 'ref_loss_init_seg'):
        assert name in losses and torch.isfinite(losses[name]), name
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.track_head.fcs[0].weight.grad is not None
    assert model.kernel_linking.attention.attn.in_proj_weight.grad is not None

    model.eval()
    inputs = train_batch(model, 0, 1)['inputs']
    with torch.no_grad():
        out = model._forward(inputs)
        # frame 0: raw kernels embedded; frame 1: all kernels linked to all of frame 0's
        kernels0, feats0, masks0 = model.detector.kernel_head(
            model.detector.extract_feat(inputs[:, 0]))
        k0 = model.detector.kernel_iter_head(feats0, kernels0, masks0)[-1][2]
        assert torch.allclose(out[2], model.track_head(k0[:, :8]), atol=1e-5)
        kernels1, feats1, masks1 = model.detector.kernel_head(
            model.detector.extract_feat(inputs[:, 1]))
        k1 = model.detector.kernel_iter_head(feats1, kernels1, masks1)[-1][2]
        linked = model.kernel_linking(k1, k0)[:, :8]
        assert torch.allclose(out[5], model.track_head(linked), atol=1e-5)
        # online inference runs through the box NMS tracker
        for t in range(3):
            sample = model.predict(**predict_batch(model, t))[0][0]
            assert 'pred_seg_logits' not in sample and 'pred_group_feats' not in sample


def test_segment_boxes_with_semantic_filter():
    from test_video_knet import build
    model = build(_official_tiny_video_cfg())
    pan = torch.full((4, 6), 3, dtype=torch.long)
    pan[1:3, 1:4] = 0 + 1 * 1000
    pan[0, 5] = 1 + 2 * 1000
    seg = torch.zeros(6, 4, 6)
    seg[5] = 1.0  # stuff everywhere ...
    seg[0, :, 1:3] = 2.0  # ... except columns 1-2 (a thing class)
    boxes = model.segment_boxes(pan, torch.tensor([1, 2]), seg)
    assert boxes.tolist() == [[1., 1., 2., 2.], [-1., -1., 10., 10.]]
    assert model.segment_boxes(pan, torch.tensor([1, 2])).tolist() == [[1., 1., 3., 2.],
                                                                       [5., 0., 5., 0.]]


# ---------------------------------------------------------------- crop filter


def test_filter_association_free_clips():
    keep = FilterAssociationFreeClips()
    clip = dict(gt_instances_ids=[np.array([1, 2]), np.array([2, 3])],
                gt_ignore_flags=[np.array([False, False]), np.array([False, False])])
    assert keep(dict(clip)) is not None
    assert keep(dict(clip, gt_instances_ids=[np.array([1]), np.array([3])],
                     gt_ignore_flags=[np.array([False]), np.array([False])])) is None
    assert keep(dict(clip, gt_instances_ids=[np.array([], int), np.array([3])],
                     gt_ignore_flags=[np.array([], bool), np.array([False])])) is None
    # a crowd instance neither counts as a thing nor as a shared id
    assert keep(dict(clip, gt_ignore_flags=[np.array([False, True]),
                                             np.array([True, False])])) is None
    assert FilterAssociationFreeClips(require_shared_id=False)(
        dict(clip, gt_instances_ids=[np.array([1]), np.array([3])],
             gt_ignore_flags=[np.array([False]), np.array([False])])) is not None


def test_official_configs_build_with_the_options():
    cfg = Config.fromfile(REPO_ROOT / 'configs/video_knet/video_knet_r50_8xb1-12e_kitti-step.py')
    model = MODELS.build(cfg.model)
    det = model.detector
    assert det.neck[1].out_stride == 8 and len(det.neck[1].aux_convs) == 1
    assert det.kernel_head.semantic_head and det.kernel_head.proposal_feats_with_obj
    assert not det.ignore_void and det.soft_gt_masks
    assert det.kernel_iter_head.assign_on_previous and det.kernel_iter_head.kernel_fusion is None
    assert det.kernel_iter_head.test_cfg['merge_mode'] == 'official_joint'
    assert model.link_mode == 'official' and model.tracker.with_box_nms
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys['backbone']['lr_mult'] == 0.25


# ---------------------------------------------------------------- official targets


def test_soft_gt_masks_keep_the_bilinear_fraction():
    from mmvps.models.heads.panoptic_kernel_targets import _downsample
    mask = torch.tensor([[[True, False, False, False], [True, False, False, False]]])
    assert _downsample(mask, (1, 2)).tolist() == [[[False, False]]]
    assert _downsample(mask, (1, 2), mode='soft').tolist() == [[[0.5, 0.0]]]


@pytest.mark.parametrize('ignore_void, soft', [(True, False), (False, True)])
def test_knet_official_targets_options(monkeypatch, ignore_void, soft):
    from test_knet import TINY_CONFIG, make_sample
    cfg = Config.fromfile(TINY_CONFIG).model
    cfg.update(ignore_void=ignore_void, soft_gt_masks=soft)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    seen = []
    real = model.kernel_head.loss_by_feat

    def recording(mask_preds, batch_gt_instances, *args):
        seen.extend(batch_gt_instances)
        return real(mask_preds, batch_gt_instances, *args)

    monkeypatch.setattr(model.kernel_head, 'loss_by_feat', recording)
    sample, sem, _ = make_sample()
    model.loss(torch.randn(1, 3, 64, 96), [sample])
    gt = seen[0]
    # void corner and crowd patch are ignored by default, trained as background otherwise
    assert bool(gt.ignore_mask.any()) == ignore_void
    fractional = ((gt.masks > 0) & (gt.masks < 1)).any()
    assert bool(fractional) == soft

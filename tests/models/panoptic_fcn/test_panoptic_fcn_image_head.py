"""PanopticFCNHead: forward shapes, the losses of spec 3.5 (focal on soft targets, weighted dice
of 3 positives) and the candidate kernels of spec 4.1-4.2 on hand-made maps."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from mmvps.models.heads.panoptic_fcn import PanopticFCNHead
from mmvps.registry import MODELS

GN = dict(type='GN', num_groups=4)


def build_head(num_things=2, num_stuff=2, channels=8, embed=8, levels=(1, 2), scales=None,
               pools=(3, 3), deform=False):
    init_default_scope('mmvps')
    scales = scales or ((1, 64), (32, 2048))[:len(levels)]
    head = MODELS.build(dict(
        type='PanopticFCNHead', num_things=num_things, num_stuff=num_stuff,
        semantic_fpn=dict(type='SemanticFPN', in_channels=channels, feat_channels=channels,
                          num_levels=2, out_conv=False, positional_encoding=None, norm_cfg=GN),
        feature_encoder=dict(type='FeatureEncoder', in_channels=channels, channels=embed,
                             num_convs=2),
        position_head=dict(type='PositionHead', in_channels=channels, channels=channels,
                           num_convs=2, deform=deform, norm_cfg=GN),
        kernel_head=dict(type='KernelHead', in_channels=channels, channels=channels,
                         num_convs=2, norm_cfg=GN),
        embed_channels=embed, semantic_levels=(0, 1), head_levels=levels,
        target_generator=dict(type='PanopticFCNTargetGenerator', instance_scales=scales),
        test_cfg=dict(center_pool_sizes=pools)))
    head.init_weights()
    return head


def identity_projectors(head):
    with torch.no_grad():
        for proj in (head.thing_projector, head.stuff_projector):
            proj.conv.weight.copy_(torch.eye(proj.conv.weight.shape[0])[..., None, None])
            proj.conv.bias.zero_()


@pytest.mark.parametrize('deform', [False, True])
def test_forward_shapes(deform):
    head = build_head(num_things=3, num_stuff=4, deform=deform)
    feats = [torch.randn(4, 8, 64 // 2**i, 96 // 2**i) for i in range(3)]
    out = head(feats)
    assert [tuple(c.shape) for c in out['center']] == [(4, 3, 32, 48), (4, 3, 16, 24)]
    assert [tuple(r.shape) for r in out['region']] == [(4, 5, 32, 48), (4, 5, 16, 24)]
    assert [tuple(k.shape) for k in out['kernels']] == [(4, 8, 32, 48), (4, 8, 16, 24)]
    assert out['mask_features'].shape == (4, 8, 64, 96)
    assert (out['mask_features'] >= 0).all()  # ReLU'd encoder
    # output convs start at the -2.19 prior
    assert torch.allclose(head.position_head.center_conv.bias, torch.tensor(-2.19))
    with pytest.raises(ValueError, match='needs 3 FPN levels'):
        head(feats[:2])


def reference_focal(logits, target, alpha=0.25, gamma=2.0):
    """RetinaNet focal loss on soft targets, written as in the reference code."""
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
    p_t = p * target + (1 - p) * (1 - target)
    return (alpha * target + (1 - alpha) * (1 - target)) * ce * (1 - p_t)**gamma


def _one_instance_clip(T=1, stuff_label=2):
    masks = torch.zeros(1, T, 32, 32, dtype=torch.bool)
    masks[0, :, 0:16, 0:16] = True  # box 15 x 15
    sem = torch.full((T, 32, 32), stuff_label)  # the first stuff label -> region channel 1
    sem[masks[0]] = 0
    return dict(masks=masks, labels=torch.tensor([0]), sem_seg=sem)


def test_focal_losses_equal_the_reference_formula():
    head = build_head(levels=(1, 2))
    torch.manual_seed(0)
    feats = [torch.randn(2, 8, 64 // 2**i, 64 // 2**i) for i in range(3)]
    out = head(feats)
    clips = [_one_instance_clip(2)]
    clips[0]['masks'] = torch.nn.functional.pad(clips[0]['masks'], (0, 32, 0, 32))
    clips[0]['sem_seg'] = torch.nn.functional.pad(clips[0]['sem_seg'], (0, 32, 0, 32), value=2)
    losses = head.loss(out, clips, (64, 64))
    targets = head.get_targets(out, clips, (64, 64))[0]
    num_pos = sum(int(p.sum()) for p in targets['pos'])
    assert num_pos == 2  # the instance (scale 15) sits on level 0 only, in both frames
    expect_th = sum(reference_focal(c, t).sum() for c, t in zip(out['center'], targets['center']))
    assert losses['loss_pos_th'].item() == pytest.approx(expect_th.item() / num_pos, rel=1e-5)
    # stuff: mean over the pixels of each (frame, class), summed, / number of frames
    expect_st = sum(reference_focal(r, t).flatten(2).mean(-1).sum()
                    for r, t in zip(out['region'], targets['region'])) / 2
    assert losses['loss_pos_st'].item() == pytest.approx(expect_st.item(), rel=1e-5)
    total = sum(losses.values())
    total.backward()
    assert head.kernel_head.out_conv.weight.grad.abs().sum() > 0
    assert head.thing_projector.conv.weight.grad.abs().sum() > 0


def test_weighted_dice_with_three_positives():
    head = build_head(num_things=1, num_stuff=1, levels=(0,), scales=((1, 1000),), pools=(3,))
    identity_projectors(head)
    # input 32 x 32, F at 8 x 8, one level of 4 x 4 (stride 8). The instance covers rows/cols
    # 0..15: stride-4 mask = the 4 x 4 top-left block, guide at the level = the 2 x 2 block.
    center = torch.full((1, 1, 4, 4), -3.)
    center[0, 0, 0, 0], center[0, 0, 0, 1], center[0, 0, 1, 0], center[0, 0, 1, 1] = 2, 1, 0, -1
    center[0, 0, 3, 3] = 5.  # higher, but outside the instance: never a positive
    torch.manual_seed(1)
    kernels = torch.randn(1, 8, 4, 4)
    feats = torch.randn(1, 8, 8, 8)
    out = dict(center=[center], region=[torch.zeros(1, 2, 4, 4)], kernels=[kernels],
               mask_features=feats)
    losses = head.loss(out, [_one_instance_clip(1, stuff_label=1)], (32, 32))
    target = torch.zeros(8, 8)
    target[:4, :4] = 1
    positions = [(0, 0), (0, 1), (1, 0)]  # the top 3 centre scores inside the instance
    scores = torch.tensor([2., 1., 0.]).sigmoid()
    weights = scores / scores.sum()
    expect = 0.
    for w, (y, x) in zip(weights, positions):
        pred = torch.einsum('c,chw->hw', kernels[0, :, y, x], feats[0]).sigmoid()
        dice = 1 - 2 * (pred * target).sum() / ((pred**2).sum() + (target**2).sum())
        expect += w * dice
    assert losses['loss_seg_th'].item() == pytest.approx(3 * expect.item(), rel=1e-5)
    # stuff dice: channel 0 (thing) and channel 1 (stuff) are positive; each kernel is the
    # mean over the level of (binary region x kernel map), its target the soft stride-4 map
    tgt = head.get_targets(out, [_one_instance_clip(1, stuff_label=1)], (32, 32))[0]
    expect_st = 0.
    for cls in (0, 1):
        region = (tgt['region'][0][0, cls] > 0).float()
        kernel = (kernels[0] * region).flatten(1).sum(1) / 16
        pred = torch.einsum('c,chw->hw', kernel, feats[0]).sigmoid()
        soft = tgt['sem'][0, cls]
        expect_st += 1 - 2 * (pred * soft).sum() / ((pred**2).sum() + (soft**2).sum())
    assert losses['loss_seg_st'].item() == pytest.approx(3 * expect_st.item() / 2, rel=1e-5)
    with pytest.raises(ValueError, match='labels 0..1 or 255'):
        head.loss(out, [_one_instance_clip(1, stuff_label=2)], (32, 32))


def test_no_instances_gives_zero_thing_losses():
    head = build_head()
    feats = [torch.randn(1, 8, 64 // 2**i, 64 // 2**i) for i in range(3)]
    clip = dict(masks=torch.zeros(0, 1, 64, 64, dtype=torch.bool),
                labels=torch.zeros(0, dtype=torch.long), sem_seg=torch.full((1, 64, 64), 2))
    losses = head.loss(head(feats), [clip], (64, 64))
    assert losses['loss_seg_th'].item() == 0
    assert losses['loss_pos_th'].item() > 0  # negatives still push the heatmap down
    sum(losses.values()).backward()


def test_thing_and_stuff_candidates_on_hand_made_maps():
    head = build_head(num_things=2, num_stuff=1, channels=8, embed=8, levels=(0,),
                      scales=((1, 1000),), pools=(3,))
    identity_projectors(head)
    # things, 1 frame, 6 x 6: class 0 peaks at (1, 1) (logit 3) with a lower neighbour (1, 2)
    # (logit 2, suppressed by the 3 x 3 max), class 1 at (4, 4) (logit 1)
    center = torch.full((2, 2, 6, 6), -10.)
    center[0, 0, 1, 1], center[0, 0, 1, 2], center[0, 1, 4, 4] = 3., 2., 1.
    kernels = torch.arange(2 * 8 * 36, dtype=torch.float).reshape(2, 8, 6, 6)
    # stuff (2 frames): frame 0 all channel 1 (logit 2), frame 1 left column channel 0
    # (logit 1), right column channel 1 (logit 0)
    region = torch.full((2, 2, 6, 6), -3.)
    region[0, 1] = 2.
    region[1, 0, :, :3] = 1.
    region[1, 1, :, 3:] = 0.
    out = dict(center=[center], region=[region], kernels=[kernels],
               mask_features=torch.zeros(2, 8, 12, 12))
    cand = head.get_clip_candidates(out, num_frames=2)
    assert len(cand) == 1
    cand = cand[0]
    eps = 1 / (1 + math.exp(10))
    s3, s2, s1 = (1 / (1 + math.exp(-v)) for v in (3, 2, 1))
    score0 = (s3 + (s3 + s2 + 7 * eps) / 9) / 2  # (heat + 3 x 3 mean) / 2 = 0.57817
    score1 = (s1 + (s1 + 8 * eps) / 9) / 2  # 0.40616
    assert cand['thing_scores'].tolist() == pytest.approx([score0, score1], rel=1e-5)
    assert cand['thing_labels'].tolist() == [0, 1]
    assert torch.allclose(cand['thing_kernels'], torch.stack([kernels[0, :, 1, 1],
                                                              kernels[0, :, 4, 4]]))
    # frame 1 has no peak above 0.05
    # stuff over both frames: channel 1 = 36 + 18 pixels, channel 0 = 18 pixels
    s_2, s_0 = 1 / (1 + math.exp(-2)), 0.5
    assert cand['stuff_labels'].tolist() == [0, 1]
    assert cand['stuff_scores'].tolist() == pytest.approx(
        [1 / (1 + math.exp(-1)), (36 * s_2 + 18 * s_0) / 54], rel=1e-5)
    mask0 = torch.zeros(2, 6, 6)
    mask0[1, :, :3] = 1
    kernel0 = (kernels * mask0[:, None]).sum((0, 2, 3)) / 72  # mean over T*h*w, not the area
    assert torch.allclose(cand['stuff_kernels'][0], kernel0)
    assert cand['mask_features'].shape == (2, 8, 12, 12)
    with pytest.raises(ValueError, match='clips of 3'):
        head.get_clip_candidates(out, num_frames=3)


def test_no_candidates_gives_empty_tensors():
    head = build_head()
    out = dict(center=[torch.full((2, 2, 8, 8), -10.), torch.full((2, 2, 4, 4), -10.)],
               region=[torch.full((2, 3, 8, 8), -10.), torch.full((2, 3, 4, 4), -10.)],
               kernels=[torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4)],
               mask_features=torch.zeros(2, 8, 16, 16))
    for cand in head.get_clip_candidates(out, 1):
        assert cand['thing_kernels'].shape == (0, 8) and cand['thing_labels'].shape == (0, )
        assert cand['stuff_kernels'].shape == (0, 8) and cand['stuff_scores'].shape == (0, )


def test_released_weight_order():
    """The released code reads a (slot, frame) table of weights in (frame, slot) order: with
    2 slots and 2 frames, positive (frame 0, slot 1) gets the weights of (slot 0, frame 1) and
    (frame 1, slot 0) those of (slot 1, frame 0); the diagonal keeps its own."""
    table = torch.arange(12.).reshape(2, 2, 3)  # [slot, frame, k]
    slots = torch.tensor([[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]]).t()  # (clip, frame, slot)
    got = PanopticFCNHead._released_weights([[table[:1], table[1:]]], slots, 2)
    assert torch.equal(got, torch.stack([table[0, 0], table[0, 1], table[1, 0], table[1, 1]]))
    # T = 1: the flag changes nothing
    head = build_head(num_things=2, num_stuff=2)
    torch.manual_seed(0)
    feats = [torch.randn(1, 8, 32 // 2**i, 32 // 2**i) for i in range(3)]
    out = head(feats)
    clip = _one_instance_clip(1)
    clip['masks'] = torch.cat([clip['masks'], clip['masks'].flip(-1)])
    clip['labels'] = torch.tensor([0, 1])
    plain = head.loss(out, [clip], (32, 32))
    head.released_weight_order = True
    released = head.loss(out, [clip], (32, 32))
    assert released['loss_seg_th'].item() == pytest.approx(plain['loss_seg_th'].item())

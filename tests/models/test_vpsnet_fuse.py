"""VPSNet Fuse: correlation, warping, TSA, the align-and-attend neck, the flow estimators."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.necks import BFP

from mmvps.models.flow import FlowNet2Torch, PWCLiteFlow, ZeroFlow, resize_flow
from mmvps.models.layers import FlowRefiner, TemporalSpatialAttentionFusion
from mmvps.models.necks import FlowAlignAttendFusion
from mmvps.models.ops import channel_norm, flow_warp, local_correlation
from mmvps.registry import MODELS

KEYS_FILE = Path(__file__).parent / 'data' / 'flownet2_checkpoint_keys.txt'


def naive_correlation(a, b, max_disp, stride=1):
    """Pixel-by-pixel loop of the definition: mean_c a[:, y, x] * b[:, y + dy, x + dx]."""
    bsz, c, h, w = a.shape
    r = max_disp // stride
    d = 2 * r + 1
    out = torch.zeros(bsz, d * d, h, w, dtype=a.dtype)
    for n in range(bsz):
        for i, dy in enumerate(range(-r, r + 1)):
            for j, dx in enumerate(range(-r, r + 1)):
                for y in range(h):
                    for x in range(w):
                        yy, xx = y + dy * stride, x + dx * stride
                        if 0 <= yy < h and 0 <= xx < w:
                            out[n, i * d + j, y, x] = (a[n, :, y, x] * b[n, :, yy, xx]).sum() / c
    return out


@pytest.mark.parametrize('max_disp,stride,size,tile', [(2, 1, (5, 7), 16), (4, 2, (5, 7), 16),
                                                       (2, 1, (3, 37), 16), (6, 2, (3, 21), 4)])
def test_local_correlation_equals_naive_loop(max_disp, stride, size, tile):
    torch.manual_seed(0)
    a, b = torch.randn(2, 3, *size), torch.randn(2, 3, *size)
    torch.testing.assert_close(local_correlation(a, b, max_disp, stride, tile=tile),
                               naive_correlation(a, b, max_disp, stride))


def test_local_correlation_channel_order():
    # one bright pixel at (2, 3) in a, one at (2 + dy, 3 + dx) in b: only channel
    # (dy + r) * (2r + 1) + (dx + r) at (2, 3) is non-zero, and it is 1 * 4 / 2 channels = 2
    a, b = torch.zeros(1, 2, 6, 7), torch.zeros(1, 2, 6, 7)
    a[0, :, 2, 3] = 1.0
    b[0, :, 1, 5] = 2.0  # dy = -1, dx = +2
    out = local_correlation(a, b, 2)
    assert out.shape == (1, 25, 6, 7)
    nonzero = out.nonzero().tolist()
    assert nonzero == [[0, (-1 + 2) * 5 + (2 + 2), 2, 3]]
    assert out[0, 9, 2, 3].item() == 2.0


def test_local_correlation_gradients_equal_naive_loop():
    torch.manual_seed(1)
    a = torch.randn(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(1, 9, 4, 5, dtype=torch.float64)
    (local_correlation(a, b, 1) * weight).sum().backward()
    grads = a.grad.clone(), b.grad.clone()
    a.grad = b.grad = None
    (naive_correlation(a, b, 1) * weight).sum().backward()
    torch.testing.assert_close(grads[0], a.grad)
    torch.testing.assert_close(grads[1], b.grad)


def test_local_correlation_rejects_mismatched_maps():
    with pytest.raises(ValueError, match='one shape'):
        local_correlation(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5), 1)


def test_flow_warp_integer_flow_moves_pattern_exactly():
    torch.manual_seed(2)
    x = torch.randn(2, 3, 9, 11)
    flow = torch.zeros(2, 2, 9, 11)
    flow[:, 0], flow[:, 1] = 2.0, -3.0  # sample at (y - 3, x + 2)
    out = flow_warp(x, flow)
    torch.testing.assert_close(out[:, :, 3:, :-2], x[:, :, :-3, 2:], atol=1e-5, rtol=0)
    assert out[:, :, :3].abs().max() == 0 and out[:, :, :, -2:].abs().max() == 0
    # border padding (FlowNet2's Resample2d) repeats the edge instead
    border = flow_warp(x, flow, padding_mode='border')
    torch.testing.assert_close(border[:, :, 0, :-2], x[:, :, 0, 2:], atol=1e-5, rtol=0)
    torch.testing.assert_close(border[:, :, 5, -1], x[:, :, 2, -1], atol=1e-5, rtol=0)


def test_flow_warp_zero_flow_is_identity_and_half_pixel_is_mean():
    torch.manual_seed(3)
    x = torch.randn(1, 4, 6, 5)
    torch.testing.assert_close(flow_warp(x, torch.zeros(1, 2, 6, 5)), x, atol=1e-6, rtol=0)
    flow = torch.zeros(1, 2, 6, 5)
    flow[:, 0] = 0.5
    out = flow_warp(x, flow)
    torch.testing.assert_close(out[..., :-1], (x[..., :-1] + x[..., 1:]) / 2, atol=1e-5, rtol=0)


def test_channel_norm_and_resize_flow():
    x = torch.tensor([[3.0, 0.0], [4.0, 1.0]]).view(1, 2, 1, 2)
    assert channel_norm(x).flatten().tolist() == [5.0, 1.0]
    flow = torch.ones(1, 2, 8, 12)
    flow[:, 1] = 2.0
    small = resize_flow(flow, (2, 3))
    assert small.shape == (1, 2, 2, 3)
    torch.testing.assert_close(small[:, 0], torch.full((1, 2, 3), 0.25))
    torch.testing.assert_close(small[:, 1], torch.full((1, 2, 3), 0.5))


@pytest.mark.parametrize('temporal,spatial', [(True, True), (False, False)])
def test_tsa_odd_sizes(temporal, spatial):
    tsa = TemporalSpatialAttentionFusion(channels=8, temporal=temporal, spatial=spatial)
    out = tsa(torch.randn(2, 2, 8, 7, 9))
    assert out.shape == (2, 8, 7, 9)
    has_spatial = any(k.startswith('spatial_1') for k in tsa.state_dict())
    assert has_spatial == spatial


def test_tsa_without_attention_is_fusion_conv():
    tsa = TemporalSpatialAttentionFusion(channels=4, temporal=False, spatial=False)
    frames = torch.randn(1, 2, 4, 5, 5)
    expected = F.leaky_relu(tsa.fusion(frames.flatten(1, 2)), 0.1)
    torch.testing.assert_close(tsa(frames), expected)


def fpn_feats(batch=1, channels=8, size=(13, 19), levels=5, seed=0):
    torch.manual_seed(seed)
    h, w = size
    feats = []
    for _ in range(levels):
        feats.append(torch.randn(batch, channels, h, w))
        h, w = (h + 1) // 2, (w + 1) // 2
    return tuple(feats)


@pytest.mark.parametrize('refine_level', [0, 1])
def test_fusion_none_equals_mmdet_bfp(refine_level):
    neck = FlowAlignAttendFusion(in_channels=8, refine_level=refine_level, fusion=None)
    bfp = BFP(in_channels=8, num_levels=5, refine_level=refine_level, refine_type='conv')
    neck.init_weights()
    bfp.load_state_dict(neck.state_dict(), strict=True)
    feats = fpn_feats()
    outs, expected = neck(feats, fpn_feats(seed=1)), bfp(feats)
    for out, exp, feat in zip(outs, expected, feats):
        assert out.shape == feat.shape
        torch.testing.assert_close(out, exp)


@pytest.mark.parametrize('flow', ['ZeroFlow', 'PWCLiteFlow'])
def test_fusion_shapes_and_gradients_odd_sizes(flow):
    neck = FlowAlignAttendFusion(
        in_channels=8, flow_estimator=dict(type=flow),
        flow_refiner=dict(type='FlowRefiner', max_displacement=2, hidden_channels=(8, 8)))
    neck.init_weights()
    img, ref_img = torch.randn(2, 3, 52, 76), torch.randn(2, 3, 52, 76)
    feats = fpn_feats(batch=2)
    outs = neck(feats, fpn_feats(batch=2, seed=1), img, ref_img)
    assert [o.shape for o in outs] == [f.shape for f in feats]
    sum(o.sum() for o in outs).backward()
    assert neck.flow_refiner.convs[0].conv.weight.grad.abs().sum() > 0
    assert neck.fusion.temporal_key.weight.grad.abs().sum() > 0
    flow_init, flow_fine = neck.last_flows
    assert flow_init.shape == flow_fine.shape == (2, 2, 13, 19)


def test_zero_refinement_makes_align_an_identity_warp():
    common = dict(in_channels=8, flow_estimator=dict(type='ZeroFlow'),
                  flow_refiner=dict(type='FlowRefiner', max_displacement=1))
    aligned = FlowAlignAttendFusion(align=True, **common)
    unaligned = FlowAlignAttendFusion(align=False, **common)
    aligned.init_weights()
    torch.nn.init.zeros_(aligned.flow_refiner.convs[-1].weight)
    torch.nn.init.zeros_(aligned.flow_refiner.convs[-1].bias)
    unaligned.load_state_dict(aligned.state_dict(), strict=False)
    feats, ref = fpn_feats(), fpn_feats(seed=1)
    img = torch.zeros(1, 3, 52, 76)
    for a, b in zip(aligned(feats, ref, img, img), unaligned(feats, ref)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    # with a reference, the output differs from the Base neck on the same weights
    base = aligned(feats)
    assert not torch.allclose(aligned(feats, ref, img, img)[0], base[0])


def test_init_weights_xavier_for_neck_and_keeps_flow_estimator_weights():
    neck = FlowAlignAttendFusion(
        in_channels=8, flow_estimator=dict(type='PWCLiteFlow', channels=(8, 8, 8)))
    flow_net = neck.flow_estimator
    for p in flow_net.parameters():
        torch.nn.init.constant_(p, 0.25)
    flow_net._is_init = True  # as a loaded checkpoint (FlowNet2Torch(checkpoint=...)) marks it
    neck.init_weights()
    assert all((p == 0.25).all() for p in flow_net.parameters())
    # xavier-uniform bound sqrt(6 / (fan_in + fan_out)), biases 0, also inside ConvModules
    weight = neck.refine.conv.weight
    bound = (6 / (8 * 9 + 8 * 9))**0.5
    assert weight.abs().max() <= bound and weight.abs().max() > bound / 2
    assert neck.refine.conv.bias.abs().max() == 0
    assert neck.flow_refiner.convs[0].conv.bias.abs().max() == 0


def test_align_moves_reference_onto_key_with_the_image_flow():
    # image flow (8, -4) px at 52 x 76 is (2, -1) px on the 13 x 19 gathered grid: the key pixel
    # p lies at p + (2, -1) in the reference, so warping the reference gives the key back
    neck = FlowAlignAttendFusion(in_channels=4, flow_estimator=dict(type='ZeroFlow'),
                                 flow_refiner=dict(type='FlowRefiner', max_displacement=1))
    torch.nn.init.zeros_(neck.flow_refiner.convs[-1].weight)
    torch.nn.init.zeros_(neck.flow_refiner.convs[-1].bias)
    image_flow = torch.zeros(1, 2, 52, 76)
    image_flow[:, 0], image_flow[:, 1] = 8.0, -4.0
    neck.flow_estimator.forward = lambda key_img, ref_img: image_flow
    key = torch.randn(1, 4, 13, 19)
    ref = torch.zeros_like(key)
    ref[..., :-1, 2:] = key[..., 1:, :-2]  # ref(y - 1, x + 2) = key(y, x)
    img = torch.zeros(1, 3, 52, 76)
    with torch.no_grad():
        aligned = neck.align_reference(key, ref, img, img)
    torch.testing.assert_close(aligned[..., 1:, :-2], key[..., 1:, :-2], atol=1e-5, rtol=0)
    flow_init, _ = neck.last_flows
    assert flow_init[0, :, 5, 5].tolist() == [2.0, -1.0]


def test_fusion_attend_switch_and_errors():
    neck = FlowAlignAttendFusion(in_channels=8, attend=False, align=False)
    assert not hasattr(neck.fusion, 'spatial_1') and not hasattr(neck.fusion, 'temporal_key')
    assert not hasattr(neck, 'flow_estimator')
    aligning = FlowAlignAttendFusion(in_channels=8, flow_estimator=dict(type='ZeroFlow'))
    with pytest.raises(ValueError, match='needs key_img and ref_img'):
        aligning(fpn_feats(), fpn_feats(seed=1))
    with pytest.raises(ValueError, match='levels'):
        aligning(fpn_feats()[:4])


def test_registry_builds_fuse_modules():
    for cfg in (dict(type='FlowAlignAttendFusion', in_channels=8), dict(type='ZeroFlow'),
                dict(type='PWCLiteFlow'), dict(type='FlowRefiner', in_channels=8),
                dict(type='TemporalSpatialAttentionFusion', channels=8)):
        assert type(MODELS.build(cfg)).__name__ == cfg['type']


def test_flow_refiner_channels_match_released_layout():
    refiner = FlowRefiner(in_channels=256, max_displacement=4)
    shapes = [tuple(p.shape) for n, p in refiner.named_parameters() if n.endswith('weight')]
    assert shapes == [(64, 339, 3, 3), (64, 64, 3, 3), (32, 64, 3, 3), (2, 32, 3, 3)]


def test_pwc_lite_flow_starts_at_zero_and_learns():
    net = PWCLiteFlow(channels=(8, 16, 16), head_channels=(8, ), max_displacement=2)
    net.init_weights()
    key, ref = torch.randn(1, 3, 37, 45), torch.randn(1, 3, 37, 45)
    flow = net(key, ref)
    assert flow.shape == (1, 2, 10, 12)  # the stride-4 level
    assert flow.abs().max() == 0
    flow.sum().backward()
    assert net.heads[0][-1].weight.grad.abs().sum() > 0
    assert ZeroFlow()(key, ref).shape == (1, 2, 37, 45)


def test_flownet2_state_dict_keys_equal_public_checkpoint():
    expected = {}
    for line in KEYS_FILE.read_text().splitlines():
        if line and not line.startswith('#'):
            key, shape = line.split()
            expected[key] = tuple(int(s) for s in shape.split('x'))
    with torch.device('meta'):
        net = FlowNet2Torch()
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == expected
    assert sum(v.numel() for v in net.state_dict().values()) == 162_518_834


def test_flownet2_forward_shape_frozen_and_checkpoint_errors(tmp_path):
    torch.manual_seed(0)
    net = FlowNet2Torch()
    net.train()
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    with torch.no_grad():
        flow = net(torch.randn(1, 3, 40, 70), torch.randn(1, 3, 40, 70))
    assert flow.shape == (1, 2, 40, 70) and torch.isfinite(flow).all()
    path = tmp_path / 'flownet2.pth.tar'
    state = net.state_dict()
    torch.save({'epoch': 1, 'state_dict': state}, path)
    FlowNet2Torch(checkpoint=str(path))
    state.pop('flownetc.conv1.0.bias')
    torch.save({'state_dict': state}, path)
    with torch.device('meta'):  # the checks run before any weight is copied
        with pytest.raises(ValueError, match=r'flownet2.pth.tar: not a FlowNet2 checkpoint'):
            FlowNet2Torch(checkpoint=str(path))
        with pytest.raises(FileNotFoundError, match='missing.pth'):
            FlowNet2Torch(checkpoint=str(tmp_path / 'missing.pth'))

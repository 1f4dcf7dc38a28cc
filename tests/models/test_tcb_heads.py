"""TCB heads (PSPNet / OCRNet and their temporal versions), blending, memory and cache, checked
against hand-computed forwards on tiny weights."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmvps.models.backbones import ContractDilatedResNet
from mmvps.models.heads.tcb import (FrameContextCache, ObjectContextBlock, ObjectRegionGather,
                                    ObjectRegionMemory, PyramidPoolingModule, STOCRHead,
                                    STPPMHead, TemporalContextBlending)

K = 5


def randomize_bn(module, seed=0):
    """Non-trivial BN statistics and affine parameters, so that eval-mode BN matters."""
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
    return module.eval()


def cbr(conv_module, x):
    """conv -> BN (eval formula) -> ReLU written out with the module's weights."""
    conv, bn = conv_module.conv, conv_module.bn
    y = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding, conv.dilation)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    y = (y - bn.running_mean[None, :, None, None]) * scale[None, :, None, None]
    return torch.relu(y + bn.bias[None, :, None, None])


def psp_reference(head, x):
    """PSPNet (Zhao et al.) on one frame: pool, project and upsample each bin, concat, 3x3
    bottleneck, classifier."""
    size = x.shape[-2:]
    feats = [x]
    for s, proj in zip(head.ppm.pool_scales, head.ppm.projections):
        y = cbr(proj, F.adaptive_avg_pool2d(x, s))
        feats.append(F.interpolate(y, size=size, mode='bilinear', align_corners=False))
    y = cbr(head.bottleneck, torch.cat(feats, 1))
    return F.conv2d(y, head.conv_seg.weight, head.conv_seg.bias)


def ocr_reference(head, x, aux_logits):
    """OCRNet (Yuan et al.) on one frame, written with einsum over pixels n and regions k."""
    pixels = cbr(head.pixel_conv, x)
    b, c, h, w = pixels.shape
    flat = pixels.flatten(2)  # [b, c, n]
    probs = torch.softmax(aux_logits.flatten(2), dim=2)  # [b, k, n]
    regions = torch.einsum('bkn,bcn->bck', probs, flat)[..., None]  # [b, c, k, 1]
    ocb = head.object_context
    q = cbr(ocb.query[1], cbr(ocb.query[0], pixels)).flatten(2)
    key = cbr(ocb.key[1], cbr(ocb.key[0], regions)).flatten(2)
    v = cbr(ocb.value, regions).flatten(2)
    sim = torch.softmax(torch.einsum('bcn,bck->bnk', q, key) / math.sqrt(ocb.key_channels), 2)
    ctx = torch.einsum('bnk,bck->bcn', sim, v).reshape(b, -1, h, w)
    y = cbr(ocb.fuse, torch.cat([cbr(ocb.out, ctx), pixels], 1))
    return F.conv2d(y, head.conv_seg.weight, head.conv_seg.bias)


def test_contract_dilation_halves_the_first_dilated_block():
    torch.manual_seed(0)
    for depth, conv in ((18, 'conv1'), (50, 'conv2')):
        net = ContractDilatedResNet(depth=depth, base_channels=8, strides=(1, 2, 1, 1),
                                    dilations=(1, 1, 2, 4), out_indices=(2, 3), deep_stem=True,
                                    stem_channels=16, norm_eval=False)
        for layer, d in (('layer3', 2), ('layer4', 4)):
            blocks = getattr(net, layer)
            assert getattr(blocks[0], conv).dilation == (d // 2, d // 2)
            assert getattr(blocks[0], conv).padding == (d // 2, d // 2)
            assert getattr(blocks[1], conv).dilation == (d, d)
        net.eval()  # mmdet's ResNet.train returns None
        outs = net(torch.randn(1, 3, 64, 96))
        assert [tuple(o.shape[-2:]) for o in outs] == [(8, 12), (8, 12)]  # output stride 8


def test_temporal_blending_mean_and_weights():
    summaries = torch.tensor([[[1., 2.], [3., 6.], [5., 10.]]])  # [B=1, 3 frames, 2]
    assert torch.equal(TemporalContextBlending()(summaries), torch.tensor([[3., 6.]]))
    weighted = TemporalContextBlending(frame_weights=(2, 1, 1))(summaries)
    assert torch.allclose(weighted, torch.tensor([[2.5, 5.]]))
    with pytest.raises(ValueError, match='frame_weights'):
        TemporalContextBlending(frame_weights=(1, 1))(summaries)


def test_pool_and_project_split_the_pyramid_pooling():
    ppm = randomize_bn(PyramidPoolingModule(4, 3, pool_scales=(1, 2, 3)))
    x = torch.randn(2, 4, 6, 9)
    pooled = ppm.pool(x)
    assert pooled.shape == (2, 4, 1 + 4 + 9)
    assert torch.allclose(pooled[..., 0], x.mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(pooled[..., 1], x[:, :, :3, :5].mean(dim=(2, 3)), atol=1e-6)
    outs = ppm.project(pooled, (6, 9))
    assert [o.shape for o in outs] == [torch.Size([2, 3, 6, 9])] * 3
    assert torch.allclose(outs[0], cbr(ppm.projections[0], x.mean(dim=(2, 3), keepdim=True))
                          .expand(-1, -1, 6, 9), atol=1e-6)


def test_region_gather_on_hand_made_features():
    # two classes on the left / right half; logits of 50 make the softmax a region average
    feats = torch.zeros(1, 2, 2, 4)
    feats[0, 0] = torch.tensor([[1., 2., 10., 20.], [3., 4., 30., 40.]])
    feats[0, 1] = 1.
    logits = torch.full((1, 2, 2, 4), -50.)
    logits[0, 0, :, :2] = 50.
    logits[0, 1, :, 2:] = 50.
    regions = ObjectRegionGather()(feats, logits)
    assert regions.shape == (1, 2, 2)
    assert torch.allclose(regions[0], torch.tensor([[2.5, 1.], [25., 1.]]), atol=1e-5)
    # scale 0: uniform weights over all pixels
    assert torch.allclose(ObjectRegionGather(scale=0.)(feats, logits)[0, :, 0],
                          torch.full((2, ), 13.75))


@pytest.mark.parametrize('kind', ['ppm', 'ocr'])
def test_head_without_references_is_the_image_baseline(kind):
    torch.manual_seed(1)
    if kind == 'ppm':
        head = randomize_bn(STPPMHead(16, K, channels=8, pool_channels=4,
                                     pool_scales=(1, 2, 3, 6)))
    else:
        head = randomize_bn(STOCRHead(16, K, channels=8, key_channels=4))
    x = torch.randn(2, 16, 7, 11)
    aux = torch.randn(2, K, 7, 11)
    single = head(x[:, None], aux[:, None])
    reference = psp_reference(head, x) if kind == 'ppm' else ocr_reference(head, x, aux)
    assert torch.allclose(single, reference, atol=1e-5)
    # N copies of the target: the mean of equal summaries changes nothing
    copies = head(x[:, None].expand(-1, 4, -1, -1, -1), aux[:, None].expand(-1, 4, -1, -1, -1))
    assert torch.allclose(copies, single, atol=1e-5)


def test_st_ppm_blends_the_pooled_bins_of_all_frames():
    torch.manual_seed(2)
    head = randomize_bn(STPPMHead(16, K, channels=8, pool_scales=(1, 2)))
    target = torch.randn(1, 16, 6, 8)
    reference = torch.full((1, 16, 6, 8), 3.)  # every bin of a constant map pools to 3
    out = head(torch.stack([target, reference], 1))
    blended = (head.ppm.pool(target) + 3.) / 2
    assert torch.allclose(out, head.decode(target, blended), atol=1e-5)
    assert not torch.allclose(out, head(target[:, None]), atol=1e-3)  # references matter
    # the reference only enters through its pooled bins: its pixels do not matter
    shuffled = reference.flatten(2)[..., torch.randperm(48)].reshape(1, 16, 6, 8)
    assert torch.allclose(head(torch.stack([target, shuffled], 1)), out, atol=1e-6)


def test_st_ocr_blends_region_vectors_of_all_frames():
    torch.manual_seed(3)
    head = randomize_bn(STOCRHead(16, K, channels=8, key_channels=4))
    x = torch.randn(1, 3, 16, 6, 8)
    aux = torch.randn(1, 3, K, 6, 8)
    out = head(x, aux)
    per_frame = [head.frame_features(x[:, j], aux[:, j])[1] for j in range(3)]
    regions = torch.stack(per_frame).mean(0)
    pixels = head.pixel_conv(x[:, 0])
    assert torch.allclose(out, head.decode(pixels, regions), atol=1e-5)
    # with hand-made regions the block is the einsum formula
    hand = torch.randn(1, K, 8)
    ocb = head.object_context
    q = cbr(ocb.query[1], cbr(ocb.query[0], pixels)).flatten(2)
    key = cbr(ocb.key[1], cbr(ocb.key[0], hand.transpose(1, 2)[..., None])).flatten(2)
    rel = torch.softmax(torch.einsum('bcn,bck->bnk', q, key) / 2., dim=2)
    assert torch.allclose(ocb.relation(pixels, hand), rel, atol=1e-6)
    assert torch.allclose(rel.sum(2), torch.ones(1, 48))


def test_object_context_block_rejects_mismatched_regions():
    block = ObjectContextBlock(8, 4)
    with pytest.raises(ValueError, match='regions must be'):
        block(torch.randn(1, 8, 3, 3), torch.randn(1, K, 6))


def test_frame_cache_keeps_only_the_last_frames():
    cache = FrameContextCache(max_offset=3)
    for t in range(10):
        cache.put(t, torch.full((2, ), float(t)))
        assert len(cache) == min(t + 1, 4)
    assert float(cache.get(6)[0]) == 6.
    with pytest.raises(KeyError, match='not cached'):
        cache.get(5)
    with pytest.raises(ValueError, match='forward'):
        cache.put(9, torch.zeros(2))
    cache.reset('other')
    assert len(cache) == 0


def test_memory_window_and_whole_video_means():
    frames = [torch.full((2, 3), float(t)) for t in range(12)]
    window = ObjectRegionMemory('window', size=4)
    whole = ObjectRegionMemory('window', size=None)
    for t, regions in enumerate(frames):
        clip = torch.stack([regions, torch.full((2, 3), 100.)])  # refs ignored in window mode
        out = window(clip)
        assert torch.allclose(out, torch.full((2, 3), sum(range(max(0, t - 3), t + 1))
                                              / min(t + 1, 4)))
        assert torch.allclose(whole(clip), torch.full((2, 3), t / 2))
        assert window.num_stored == min(t + 1, 4) and whole.num_stored == 1
    window.reset()
    assert window.num_stored == 0


def test_memory_first_clip_is_half_first_half_current():
    memory = ObjectRegionMemory('first_clip')
    first = torch.stack([torch.full((2, 3), v) for v in (0., 3., 6., 9.)])
    assert torch.allclose(memory(first), torch.full((2, 3), 4.5))
    for t in range(1, 5):
        current = torch.stack([torch.full((2, 3), float(t + d)) for d in (0, 3, 6, 9)])
        expected = 0.5 * 4.5 + 0.5 * (t + 4.5)
        assert torch.allclose(memory(current), torch.full((2, 3), expected))
        assert memory.num_stored == 4  # only the first clip is ever stored

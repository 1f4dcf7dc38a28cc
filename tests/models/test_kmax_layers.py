"""kMaX pixel-decoder parts: LayerNorm2d, axial attention with RPE, blocks, pixel decoder."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmvps.models.layers import (AxialAttention, AxialAttention2d, AxialBlock,
                                 KMaXBottleneckBlock, LayerNorm2d, RelativePositionalEncoding)
from mmvps.models.necks import KMaXPixelDecoder

BN = dict(type='BN', eps=1e-3, momentum=0.01)


def test_layer_norm_2d_normalises_channels():
    torch.manual_seed(0)
    norm = LayerNorm2d(6)
    with torch.no_grad():
        norm.weight.uniform_()
        norm.bias.uniform_()
    x = torch.randn(2, 6, 3, 4)
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (6, ), norm.weight, norm.bias,
                            1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(norm(x), expected)
    with pytest.raises(ValueError, match='LayerNorm2d'):
        norm(torch.randn(2, 5, 3, 4))
    assert isinstance(norm, torch.nn.LayerNorm)  # norm_decay_mult applies to it


def test_rpe_table_is_indexed_by_key_minus_query():
    rpe = RelativePositionalEncoding(length=3, depth=1, max_span=4)
    assert rpe.embeddings.shape == (7, 1)
    with torch.no_grad():
        rpe.embeddings.copy_(torch.arange(7.).unsqueeze(1))
    # entry [q, k] = embeddings[k - q + max_span - 1]
    assert rpe()[..., 0].tolist() == [[3., 4., 5.], [2., 3., 4.], [1., 2., 3.]]
    assert RelativePositionalEncoding(5, 2).embeddings.shape == (2 * 255 - 1, 2)
    with pytest.raises(ValueError, match='max_span'):
        RelativePositionalEncoding(6, 2, max_span=5)


def test_axial_attention_matches_hand_computed_case():
    """One head, 1-channel q/k/v equal to the input: logits = BN(q k) + BN(q r_q) + BN(k r_k),
    softmax over keys, output = BN(a v) + BN(a r_v); eval BN with unit stats is a factor s."""
    torch.manual_seed(0)
    attn = AxialAttention(1, axis_length=3, key_channels=1, value_channels=1, num_heads=1,
                          max_span=3, norm_cfg=BN).eval()
    with torch.no_grad():
        attn.qkv.conv.weight.fill_(1.0)
    eq, ek, ev = (rpe.embeddings[:, 0].tolist()
                  for rpe in (attn.query_rpe, attn.key_rpe, attn.value_rpe))
    x = [0.5, -1.0, 2.0]
    s = 1 / math.sqrt(1 + 1e-3)
    q = k = v = [s * xi for xi in x]
    expected = []
    for lq in range(3):
        logits = [s * (q[lq] * k[m] + q[lq] * eq[m - lq + 2] + k[m] * ek[m - lq + 2])
                  for m in range(3)]
        z = [math.exp(t) for t in logits]
        w = [t / sum(z) for t in z]
        expected.append(s * sum(w[m] * v[m] for m in range(3)) +
                        s * sum(w[m] * ev[m - lq + 2] for m in range(3)))
    out = attn(torch.tensor(x).reshape(1, 1, 3))
    torch.testing.assert_close(out.reshape(3), torch.tensor(expected))
    with pytest.raises(ValueError, match='axis length 3'):
        attn(torch.zeros(1, 1, 4))


def test_axial_attention_2d_runs_height_then_width():
    attn = AxialAttention2d(8, (3, 5), key_channels=8, value_channels=16, num_heads=4,
                            norm_cfg=BN)
    assert attn(torch.randn(2, 8, 3, 5)).shape == (2, 16, 3, 5)
    assert attn.height_axis.axis_length == 3 and attn.width_axis.axis_length == 5
    # the RPE tables are the only parameters named *rpe* (no weight decay in kMaX)
    assert sorted({n.split('.')[1] for n, _ in attn.named_parameters() if 'rpe' in n}) == [
        'key_rpe', 'query_rpe', 'value_rpe']


@pytest.mark.parametrize('block_type', ['axial', 'bottleneck'])
def test_block_residual_branch_starts_at_zero(block_type):
    """The last BN's scale is 0, so at init a block is GELU(x) (+ the conv-BN shortcut)."""
    torch.manual_seed(0)
    x = torch.randn(2, 32, 3, 5)
    if block_type == 'axial':
        same = AxialBlock(32, 8, (3, 5), num_heads=4, norm_cfg=BN).eval()
        wider = AxialBlock(16, 8, (3, 5), num_heads=4, norm_cfg=BN).eval()
    else:
        same = KMaXBottleneckBlock(32, 8, norm_cfg=BN).eval()
        wider = KMaXBottleneckBlock(16, 8, norm_cfg=BN).eval()
    assert same.conv3.bn.weight.abs().sum() == 0
    assert same.shortcut is None
    torch.testing.assert_close(same(x), F.gelu(x))
    x16 = x[:, :16]
    torch.testing.assert_close(wider(x16), wider.shortcut(F.gelu(x16)))
    # once the last BN scale is non-zero the branch contributes
    with torch.no_grad():
        same.conv3.bn.weight.fill_(1.0)
    assert not torch.allclose(same(x), F.gelu(x))


def tiny_decoder(**kwargs):
    cfg = dict(in_channels=(16, 32, 64, 128), channels=(64, 32, 16, 8), num_blocks=(1, 1, 1, 1),
               num_heads=4, input_size=(96, 160), norm_cfg=BN)
    cfg.update(kwargs)
    return KMaXPixelDecoder(**cfg)


def test_pixel_decoder_shapes_and_axial_lengths():
    decoder = tiny_decoder()
    feats = [torch.randn(2, c, 96 // s, 160 // s) for c, s in zip((16, 32, 64, 128),
                                                                   (4, 8, 16, 32))]
    multi_scale, panoptic = decoder(feats)
    assert [tuple(f.shape) for f in multi_scale] == [(2, 256, 3, 5), (2, 128, 6, 10),
                                                    (2, 64, 12, 20)]
    assert panoptic.shape == (2, 32, 24, 40)
    attention = decoder.stages[1][0].attention
    assert (attention.height_axis.axis_length, attention.width_axis.axis_length) == (6, 10)
    # the first stage takes the raw res5 width; later stages the fused width
    assert decoder.stages[0][0].conv1.conv.in_channels == 128
    assert decoder.stages[1][0].conv1.conv.in_channels == 32
    with pytest.raises(ValueError, match='fixed padded input size'):
        decoder([torch.randn(2, c, 128 // s, 160 // s)
                 for c, s in zip((16, 32, 64, 128), (4, 8, 16, 32))])
    with pytest.raises(ValueError, match='input_size'):
        tiny_decoder(input_size=None)


def test_pixel_decoder_cityscapes_os2_stage():
    decoder = tiny_decoder(in_channels=(8, 16, 32, 64, 128), channels=(64, 32, 16, 8, 4),
                           num_blocks=(1, 1, 1, 1, 1),
                           block_types=('axial', 'axial', 'bottleneck', 'bottleneck',
                                        'bottleneck'))
    feats = [torch.randn(1, c, 96 // s, 160 // s)
             for c, s in zip((8, 16, 32, 64, 128), (2, 4, 8, 16, 32))]
    multi_scale, panoptic = decoder(feats)
    assert [f.shape[-1] for f in multi_scale] == [5, 10, 20]
    assert panoptic.shape == (1, 16, 48, 80)

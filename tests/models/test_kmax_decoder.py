"""kMaX transformer decoder: k-means cross-attention, predictor, clip reshape, semantic head."""
import math

import pytest
import torch
from mmengine.registry import DefaultScope

from mmvps.registry import MODELS

from mmvps.models.heads.kmax import (KMaXPredictor, KMaXSemanticHead, KMaXTransformerDecoder,
                                     KMeansCrossAttention, clip_to_frames, frames_to_clip,
                                     kmeans_assignment)

BN = dict(type='BN', eps=1e-3, momentum=0.01)
S = 1 / math.sqrt(1 + 1e-3)  # an eval BN with unit running stats


def test_kmeans_assignment_is_one_hot_argmax_without_gradient():
    logits = torch.tensor([[[0.1, 2.0, -1.0, 0.0],
                            [0.3, 1.0, -2.0, 5.0],
                            [0.2, 3.0, -0.5, 1.0]]], requires_grad=True)
    assignment = kmeans_assignment(logits)
    assert assignment.tolist() == [[[0., 0., 0., 0.],
                                    [1., 0., 0., 1.],
                                    [0., 1., 1., 0.]]]
    assert not assignment.requires_grad


def test_kmeans_cross_attention_sums_assigned_pixels():
    """3 queries, 4 pixels (1x4 map), 2 channels; all projections identity: the update of a
    query is the SUM of its pixels' values (x s^3 from the three eval BNs)."""
    attn = KMeansCrossAttention(2, 2, 2, norm_cfg=BN).eval()
    with torch.no_grad():
        attn.value_proj.conv.weight.copy_(torch.eye(2).reshape(2, 2, 1, 1))
        attn.out_proj.conv.weight.copy_(torch.eye(2).reshape(2, 2, 1))
        attn.out_proj.bn.weight.fill_(1.0)
    pixels = torch.tensor([[1., 2., 3., 4.], [10., 20., 30., 40.]]).reshape(1, 2, 1, 4)
    logits = torch.tensor([[0.1, 2.0, -1.0, 0.0],
                           [0.3, 1.0, -2.0, 5.0],
                           [0.2, 3.0, -0.5, 1.0]]).reshape(1, 3, 1, 4).requires_grad_()
    queries = torch.tensor([[0.5, 0.0, -1.0], [1.0, 2.0, 3.0]]).unsqueeze(0).requires_grad_()
    out = attn(queries, pixels, logits)
    # query 0: no pixel; query 1: pixels 0, 3; query 2: pixels 1, 2
    sums = torch.tensor([[0., 1 + 4, 2 + 3], [0., 10 + 40, 20 + 30]])
    torch.testing.assert_close(out[0], queries[0] + S**3 * sums)
    out.sum().backward()
    assert logits.grad is None
    assert queries.grad is not None
    # at init the out-projection BN scale is 0: the update starts as zero
    fresh = KMeansCrossAttention(2, 2, 2, norm_cfg=BN).eval()
    torch.testing.assert_close(fresh(queries, pixels, logits), queries)


def test_frames_to_clip_stacks_frames_along_height():
    x = torch.arange(2 * 3 * 2 * 2 * 2.).reshape(6, 2, 2, 2)  # B=2, T=3
    clip = frames_to_clip(x, 3)
    assert clip.shape == (2, 2, 6, 2)
    for b in range(2):
        for t in range(3):
            assert torch.equal(clip[b, :, 2 * t:2 * t + 2], x[b * 3 + t])
    assert torch.equal(clip_to_frames(clip, 3), x)
    with pytest.raises(ValueError, match='num_frames=4'):
        frames_to_clip(x, 4)


def test_predictor_void_bias_mask_norm_and_per_frame_pixel_head():
    torch.manual_seed(0)
    predictor = KMaXPredictor(8, query_channels=16, num_classes=5, pixel_head_dim=12,
                              mask_embed_dim=6, norm_cfg=BN).eval()
    assert predictor.mask_norm.weight.item() == pytest.approx(0.1)
    with torch.no_grad():
        predictor.class_head.conv.weight.zero_()
    emb = torch.randn(2, 16, 4)
    frames = torch.randn(4, 8, 3, 5)  # B=2, T=2
    out = predictor(emb, emb, frames_to_clip(frames, 2), num_frames=2)
    assert out['class_logits'].shape == (2, 4, 6)
    expected = torch.zeros(6)
    expected[-1] = math.log(5 * 0.9 / 0.1)
    torch.testing.assert_close(out['class_logits'], expected.expand(2, 4, 6))
    assert out['mask_logits'].shape == (2, 4, 6, 5)
    torch.testing.assert_close(out['pixel_feature'].norm(dim=1), torch.ones(2, 6, 5))
    # the pixel head runs per frame: the clip's embedding is the frames' embeddings stacked
    single = [predictor(emb[:1], emb[:1], f[None], 1)['pixel_feature'] for f in frames[:2]]
    torch.testing.assert_close(out['pixel_feature'][:1], torch.cat(single, dim=2))


def tiny_decoder(**kwargs):
    cfg = dict(in_channels=(64, 32, 16), panoptic_channels=8, num_classes=5, num_queries=6,
               hidden_dim=16, num_layers=(1, 2, 1), num_heads=4, attn_key_dim=8, ffn_dim=32,
               mask_embed_dim=6, pixel_head_dim=12, drop_path_rate=0.0, norm_cfg=BN)
    cfg.update(kwargs)
    return KMaXTransformerDecoder(**cfg)


def tiny_feats(batch_frames, h=12, w=20):
    return ([torch.randn(batch_frames, c, h // s, w // s) for c, s in ((64, 8), (32, 4), (16, 2))],
            torch.randn(batch_frames, 8, h, w))


def test_decoder_output_shapes():
    torch.manual_seed(0)
    decoder = tiny_decoder().eval()
    feats, panoptic = tiny_feats(4)  # B=2 clips of T=2
    out = decoder(feats, panoptic, num_frames=2)
    assert out['class_logits'].shape == (2, 6, 6)
    assert out['mask_logits'].shape == (2, 6, 2, 12, 20)
    assert out['pixel_feature'].shape == (2, 6, 2, 12, 20)
    torch.testing.assert_close(out['pixel_feature'].norm(dim=1), torch.ones(2, 2, 12, 20))
    assert out['queries'].shape == (2, 6, 16)
    assert len(out['aux_outputs']) == 4
    for aux in out['aux_outputs']:
        assert aux['class_logits'].shape == (2, 6, 6)
        assert aux['mask_logits'].shape == (2, 6, 2, 12, 20)
        assert aux['pixel_feature'].shape == (2, 6, 2, 12, 20)
    assert tiny_decoder(num_layers=(2, 2, 2))(*tiny_feats(2))['aux_outputs'].__len__() == 6


def test_decoder_backward_reaches_queries_and_pixel_values():
    torch.manual_seed(0)
    decoder = tiny_decoder(drop_path_rate=0.2).train()
    kmeans = decoder.layers[0].kmeans_attention
    with torch.no_grad():  # at init the branch's last BN scale is 0 and blocks the gradient
        kmeans.out_proj.bn.weight.fill_(1.0)
    feats, panoptic = tiny_feats(4)
    feats = [f.requires_grad_() for f in feats]
    out = decoder(feats, panoptic, num_frames=2)
    (out['mask_logits'].sum() + out['class_logits'].sum() +
     sum(a['mask_logits'].sum() for a in out['aux_outputs'])).backward()
    assert decoder.cluster_centers.grad.abs().sum() > 0
    # the k-means update is differentiable in the pixel values, not in the assignment
    assert kmeans.value_proj.conv.weight.grad.abs().sum() > 0
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)


def test_decoder_t1_equals_image_model_per_image():
    """T = 1 is kMaX-DeepLab: a batch of two images gives what each image gives alone."""
    torch.manual_seed(0)
    decoder = tiny_decoder().eval()
    feats, panoptic = tiny_feats(2)
    batch = decoder(feats, panoptic, num_frames=1)
    for i in range(2):
        alone = decoder([f[i:i + 1] for f in feats], panoptic[i:i + 1])
        for key in ('class_logits', 'mask_logits', 'pixel_feature', 'queries'):
            torch.testing.assert_close(batch[key][i:i + 1], alone[key])
        torch.testing.assert_close(batch['aux_outputs'][2]['mask_logits'][i:i + 1],
                                   alone['aux_outputs'][2]['mask_logits'])


@pytest.mark.parametrize('train', [False, True])
def test_clip_of_identical_frames_gives_identical_masks(train):
    torch.manual_seed(0)
    decoder = tiny_decoder().train(train)
    feats, panoptic = tiny_feats(2)
    # B=2 clips of T=2, each clip = one frame twice
    clip_feats = [f.repeat_interleave(2, dim=0) for f in feats]
    out = decoder(clip_feats, panoptic.repeat_interleave(2, dim=0), num_frames=2)
    for res in [out] + out['aux_outputs']:
        torch.testing.assert_close(res['mask_logits'][:, :, 0], res['mask_logits'][:, :, 1],
                                   rtol=0, atol=1e-5)
        torch.testing.assert_close(res['pixel_feature'][:, :, 0],
                                   res['pixel_feature'][:, :, 1], rtol=0, atol=1e-6)
    # and the clip differs from a clip of two different frames (the frames do interact)
    other = decoder([f.repeat(2, 1, 1, 1) for f in feats],
                    panoptic.repeat(2, 1, 1, 1), num_frames=2)
    assert not torch.allclose(other['mask_logits'][:, :, 0], other['mask_logits'][:, :, 1])


def test_modules_build_from_config_in_mmvps_scope():
    DefaultScope.get_instance('test_kmax_build', scope_name='mmvps')
    decoder = MODELS.build(dict(type='KMaXTransformerDecoder', in_channels=(64, 32, 16),
                                panoptic_channels=8, num_classes=5, num_queries=6, hidden_dim=16,
                                num_layers=(1, 1, 1), num_heads=4, attn_key_dim=8, ffn_dim=32,
                                mask_embed_dim=6, pixel_head_dim=12, norm_cfg=BN))
    assert isinstance(decoder, KMaXTransformerDecoder) and len(decoder.layers) == 3
    neck = MODELS.build(dict(type='KMaXPixelDecoder', in_channels=(16, 32, 64, 128),
                             channels=(64, 32, 16, 8), num_blocks=(1, 1, 1, 1), num_heads=4,
                             input_size=(96, 160), norm_cfg=BN))
    assert type(neck).__name__ == 'KMaXPixelDecoder'
    assert type(MODELS.build(dict(type='ConvNeXt', arch='tiny'))).__module__ == \
        'mmvps.models.backbones.convnext'


def test_decoder_rejects_wrong_number_of_maps():
    decoder = tiny_decoder()
    feats, panoptic = tiny_feats(2)
    with pytest.raises(ValueError, match='expects 3 multi-scale maps'):
        decoder(feats[:2], panoptic)


def test_semantic_head_shape():
    head = KMaXSemanticHead(in_channels=(16, 32, 128), num_classes=7, channels=24,
                            norm_cfg=BN).eval()
    feats = [torch.randn(4, c, 96 // s, 160 // s)
             for c, s in zip((16, 32, 64, 128), (4, 8, 16, 32))]
    assert head(feats).shape == (4, 7, 24, 40)
    assert head.cls_conv.conv.out_channels == 7
    with pytest.raises(ValueError, match='backbone tuple'):
        head(feats[:3])

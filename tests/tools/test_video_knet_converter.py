"""tools/model_converters/video_knet_official_to_mmvps.py on synthetic official state dicts that
hold every key of the official R-50 KITTI-STEP Video K-Net (and image K-Net) with its shape."""
import importlib.util
import sys
from pathlib import Path

import pytest
import torch
from mmdet.models.backbones import ResNet, SwinTransformer
from mmdet.models.necks import FPN
from mmengine.config import Config

from mmvps.registry import MODELS
from mmvps.utils import register_all_modules

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / 'tools' / 'model_converters' / 'video_knet_official_to_mmvps.py'
C, N, T, S = 256, 100, 2, 17


@pytest.fixture(scope='module')
def tool():
    register_all_modules()
    spec = importlib.util.spec_from_file_location('video_knet_official_to_mmvps', TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _linear(sd, prefix, cin, cout, bias=True):
    sd[f'{prefix}.weight'] = (cout, cin)
    if bias:
        sd[f'{prefix}.bias'] = (cout, )


def _norm(sd, prefix, channels):
    sd[f'{prefix}.weight'] = sd[f'{prefix}.bias'] = (channels, )


def _attention(sd, prefix):
    sd[f'{prefix}.attn.in_proj_weight'] = (3 * C, C)
    sd[f'{prefix}.attn.in_proj_bias'] = (3 * C, )
    _linear(sd, f'{prefix}.attn.out_proj', C, C)


def _ffn(sd, prefix):
    _linear(sd, f'{prefix}.layers.0.0', C, 2048)
    _linear(sd, f'{prefix}.layers.1', 2048, C)


def _updator(sd, prefix):
    _linear(sd, f'{prefix}.dynamic_layer', C, 2 * C)
    _linear(sd, f'{prefix}.input_layer', C, 2 * C)
    for name in ('input_gate', 'update_gate', 'fc_layer'):
        _linear(sd, f'{prefix}.{name}', C, C)
    for name in ('norm_in', 'norm_out', 'input_norm_in', 'input_norm_out', 'fc_norm'):
        _norm(sd, f'{prefix}.{name}', C)


def _conv_gn(sd, prefix, kernel):
    sd[f'{prefix}.conv.weight'] = (C, C, kernel, kernel)
    _norm(sd, f'{prefix}.gn', C)


def original_swin_b_shapes():
    """An original-Swin (official ``SwinTransformerDIY``) Swin-B backbone: mmdet's keys renamed
    back (``layers``, ``attn.qkv``, ``mlp.fc1``, ``patch_embed.proj``)."""
    swin = SwinTransformer(embed_dims=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32],
                           window_size=7, out_indices=(0, 1, 2, 3))
    shapes = {}
    for key, value in swin.state_dict().items():
        key = key.replace('stages', 'layers', 1).replace('attn.w_msa.', 'attn.')
        key = key.replace('ffn.layers.0.0.', 'mlp.fc1.').replace('ffn.layers.1.', 'mlp.fc2.')
        shapes[key.replace('patch_embed.projection', 'patch_embed.proj')] = tuple(value.shape)
    return shapes


def official_shapes(video=True, swin_links=False, swin_backbone=False):
    """Keys and shapes of an official checkpoint, written from the official module definitions
    (the review's section 9); the R-50 backbone and the FPN are mmdet's modules under the same
    names."""
    sd = {}
    if swin_backbone:
        backbone, fpn_in = original_swin_b_shapes(), [128, 256, 512, 1024]
    else:
        backbone = {k: tuple(v.shape) for k, v in ResNet(depth=50).state_dict().items()}
        fpn_in = [256, 512, 1024, 2048]
    for key, shape in backbone.items():
        sd[f'backbone.{key}'] = shape
    fpn = FPN(fpn_in, C, 4, start_level=0, add_extra_convs='on_input')
    for key, value in fpn.state_dict().items():
        sd[f'neck.{key}'] = tuple(value.shape)
    lfpn = 'rpn_head.localization_fpn'
    for level, convs in enumerate((1, 1, 2, 3)):
        for j in range(convs):
            _conv_gn(sd, f'{lfpn}.convs_all_levels.{level}.conv{j}', 3)
    _conv_gn(sd, f'{lfpn}.conv_pred', 1)
    _conv_gn(sd, f'{lfpn}.aux_convs.0', 1)
    _conv_gn(sd, 'rpn_head.loc_convs.0', 1)
    _conv_gn(sd, 'rpn_head.seg_convs.0', 1)
    sd['rpn_head.init_kernels.weight'] = (N, C, 1, 1)
    sd['rpn_head.conv_seg.weight'] = (T + S, C, 1, 1)
    sd['rpn_head.conv_seg.bias'] = (T + S, )
    for stage in range(3):
        p = f'roi_head.mask_head.{stage}'
        _attention(sd, f'{p}.attention')
        _norm(sd, f'{p}.attention_norm', C)
        _updator(sd, f'{p}.kernel_update_conv')
        sd[f'{p}.feat_transform.conv.weight'] = (C, C, 1, 1)
        sd[f'{p}.feat_transform.conv.bias'] = (C, )
        _ffn(sd, f'{p}.ffn')
        _norm(sd, f'{p}.ffn_norm', C)
        _linear(sd, f'{p}.cls_fcs.0', C, C, bias=False)
        _norm(sd, f'{p}.cls_fcs.1', C)
        _linear(sd, f'{p}.fc_cls', C, T + S)
        _linear(sd, f'{p}.mask_fcs.0', C, C, bias=False)
        _norm(sd, f'{p}.mask_fcs.1', C)
        _linear(sd, f'{p}.fc_mask', C, C)
        if not video:
            continue
        if swin_links:
            _updator(sd, f'{p}.attention_previous_update_track')
            _attention(sd, f'{p}.attention_previous_track')
            _norm(sd, f'{p}.attention_previous_norm_track', C)
            _ffn(sd, f'{p}.link_ffn_track')
            _norm(sd, f'{p}.link_ffn_norm_track', C)
            _updator(sd, f'{p}.attention_previous_update_link')
            _attention(sd, f'{p}.attention_previous_link')
            _norm(sd, f'{p}.attention_previous_norm_link', C)
            _ffn(sd, f'{p}.link_ffn_link')
            _norm(sd, f'{p}.link_ffn_norm_link', C)
        else:
            _attention(sd, f'{p}.attention_previous')
            _norm(sd, f'{p}.attention_previous_norm', C)
            _ffn(sd, f'{p}.link_ffn')
            _norm(sd, f'{p}.link_ffn_norm', C)
    if video:
        _linear(sd, 'embed_fcs.0', C, C, bias=False)
        _norm(sd, 'embed_fcs.1', C)
        _linear(sd, 'fc_embed', C, C)
        _linear(sd, 'track_head.fcs.0', C, 256)
        _linear(sd, 'track_head.fcs.1', 256, 256)
        _linear(sd, 'track_head.fc_embed', 256, 256)
    return sd


def random_state(shapes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {k: (torch.randint(0, 5, s, generator=gen) if k.endswith('num_batches_tracked')
                else torch.randn(s, generator=gen)) for k, s in shapes.items()}


def build_model(config, swin_links=False):
    cfg = Config.fromfile(REPO_ROOT / config)
    if swin_links:
        cfg.model.kernel_linking.with_kernel_update = True
        cfg.model.detector.kernel_iter_head.kernel_fusion = dict(
            type='KernelFusion', mode='official', in_channels=C, num_heads=8,
            feedforward_channels=2048, num_ffn_fcs=2,
            kernel_updator_cfg=dict(type='KernelUpdator', in_channels=C, feat_channels=C))
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('swin_links', [False, True])
def test_video_knet_checkpoint_converts_and_loads_strictly(tool, swin_links):
    official = random_state(official_shapes(swin_links=swin_links))
    state, kind = tool.convert_state_dict(official)
    assert kind == 'video'
    model = build_model('configs/video_knet/video_knet_r50_8xb1-12e_kitti-step.py', swin_links)
    model.load_state_dict(state, strict=True)
    # values travel unchanged to their renamed places
    assert torch.equal(model.detector.kernel_head.thing_kernels.weight,
                       official['rpn_head.init_kernels.weight'])
    assert torch.equal(model.detector.neck[1].level_convs[3].conv[2].conv.weight,
                       official['rpn_head.localization_fpn.convs_all_levels.3.conv2.conv.weight'])
    updator = model.detector.kernel_iter_head.mask_head[1].kernel_updator
    assert torch.equal(updator.kernel_gate.weight,
                       official['roi_head.mask_head.1.kernel_update_conv.input_gate.weight'])
    assert torch.equal(updator.feature_gate_norm.bias,
                       official['roi_head.mask_head.1.kernel_update_conv.norm_in.bias'])
    assert torch.equal(model.track_head.fc_out.weight, official['track_head.fc_embed.weight'])
    assert torch.equal(model.track_head.fc_embed.weight, official['fc_embed.weight'])
    link = 'attention_previous_track' if swin_links else 'attention_previous'
    assert torch.equal(model.kernel_linking.attention.attn.in_proj_weight,
                       official[f'roi_head.mask_head.2.{link}.attn.in_proj_weight'])


def test_swin_video_knet_checkpoint_converts_and_loads_strictly(tool):
    official = random_state(official_shapes(swin_links=True, swin_backbone=True))
    state, kind = tool.convert_state_dict(official)
    cfg = Config.fromfile(REPO_ROOT / 'configs/video_knet/video_knet_swin-b_8xb1-12e_kitti-step.py')
    model = MODELS.build(cfg.model)
    model.load_state_dict(state, strict=True)
    backbone = model.detector.backbone
    assert torch.equal(backbone.patch_embed.projection.weight,
                       official['backbone.patch_embed.proj.weight'])
    assert torch.equal(backbone.stages[2].blocks[17].ffn.layers[1].weight,
                       official['backbone.layers.2.blocks.17.mlp.fc2.weight'])
    fusion = model.detector.kernel_iter_head.kernel_fusion
    assert torch.equal(fusion.kernel_updator.feature_layer.weight, official[
        'roi_head.mask_head.2.attention_previous_update_link.dynamic_layer.weight'])


def test_image_knet_checkpoint_converts_and_loads_strictly(tool, tmp_path):
    official = random_state(official_shapes(video=False))
    path = tmp_path / 'knet.pth'
    torch.save(dict(state_dict=official, meta=dict()), path)
    state, kind = tool.convert_state_dict(tool.load_official_checkpoint(str(path)))
    assert kind == 'image'
    assert not any(k.startswith('detector.') for k in state)
    cfg = Config.fromfile(REPO_ROOT / 'configs/knet/knet_r50_fpn_8e_cityscapes-step.py')
    MODELS.build(cfg.model).load_state_dict(state, strict=True)


def test_unknown_checkpoints_are_refused(tool):
    with pytest.raises(tool.UnknownCheckpointError, match='not an official'):
        tool.convert_state_dict({'backbone.conv1.weight': torch.zeros(1)})
    official = random_state(official_shapes())
    official['roi_head.mask_head.0.mystery.weight'] = torch.zeros(1)
    with pytest.raises(tool.UnknownCheckpointError, match='mystery'):
        tool.convert_state_dict(official)
    official = random_state(official_shapes())
    official['rpn_head.init_kernels.weight'] = torch.zeros(N, C, 3, 3)
    with pytest.raises(tool.UnknownCheckpointError, match='1x1'):
        tool.convert_state_dict(official)

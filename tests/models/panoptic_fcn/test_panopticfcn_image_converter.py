"""tools/model_converters/panopticfcn_to_mmvps.py on synthetic state dicts with the detectron2
key layout of the released PanopticFCN / Clip-PanoFCN checkpoints (ResNet-50 + FPN P6/P7 +
heads), loaded strictly into the models of configs/_base_/models/panoptic_fcn_r50.py."""
import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmvps.registry import MODELS

ROOT = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location(
    'panopticfcn_to_mmvps', ROOT / 'tools/model_converters/panopticfcn_to_mmvps.py')
converter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converter)


def detectron2_state_dict(num_things=58, stuff_channels=67, encoder=64, encoder_deform=False):
    """Keys and shapes of a released checkpoint (detectron2 ResNet-50 with FrozenBN, FPN with
    LastLevelP6P7, PanopticFCN heads; position head with modulated deformable convs)."""
    g = torch.Generator().manual_seed(0)
    sd = {}

    def add(key, *shape):
        sd[key] = torch.randn(*shape, generator=g)

    def frozen_bn(prefix, c):
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            add(f'{prefix}.{name}', c)

    add('backbone.bottom_up.stem.conv1.weight', 64, 3, 7, 7)
    frozen_bn('backbone.bottom_up.stem.conv1.norm', 64)
    in_c = 64
    for stage, (blocks, planes) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512)), start=2):
        for b in range(blocks):
            p = f'backbone.bottom_up.res{stage}.{b}'
            for i, (cout, cin, k) in enumerate(
                    [(planes, in_c, 1), (planes, planes, 3), (4 * planes, planes, 1)], start=1):
                add(f'{p}.conv{i}.weight', cout, cin, k, k)
                frozen_bn(f'{p}.conv{i}.norm', cout)
            if b == 0:
                add(f'{p}.shortcut.weight', 4 * planes, in_c, 1, 1)
                frozen_bn(f'{p}.shortcut.norm', 4 * planes)
            in_c = 4 * planes
    for lvl, c in zip(range(2, 6), (256, 512, 1024, 2048)):
        add(f'backbone.fpn_lateral{lvl}.weight', 256, c, 1, 1)
        add(f'backbone.fpn_lateral{lvl}.bias', 256)
        add(f'backbone.fpn_output{lvl}.weight', 256, 256, 3, 3)
        add(f'backbone.fpn_output{lvl}.bias', 256)
    for p in ('p6', 'p7'):
        add(f'backbone.top_block.{p}.weight', 256, 256, 3, 3)
        add(f'backbone.top_block.{p}.bias', 256)
    # semantic FPN: Sequential [conv, upsample] per conv; p2 has one conv and no upsample
    for lvl, n in zip(range(2, 6), (1, 1, 2, 3)):
        for j in range(n):
            idx = j if lvl == 2 else 2 * j
            add(f'semantic_fpn.p{lvl}.{idx}.weight', 256, 256, 3, 3)
            add(f'semantic_fpn.p{lvl}.{idx}.norm.weight', 256)
            add(f'semantic_fpn.p{lvl}.{idx}.norm.bias', 256)
    for k in range(1, 4):
        p = f'position_head.position_head.position_head_head_{k}'
        add(f'{p}.offset_mask_conv.weight', 27, 256, 3, 3)
        add(f'{p}.offset_mask_conv.bias', 27)
        add(f'{p}.dcnv2.weight', 256, 256, 3, 3)
        add(f'{p}.dcnv2.norm.weight', 256)
        add(f'{p}.dcnv2.norm.bias', 256)
        p = f'kernel_head.kernel_head.kernel_head_head_{k}'
        add(f'{p}.weight', 256, 258 if k == 1 else 256, 3, 3)
        add(f'{p}.norm.weight', 256)
        add(f'{p}.norm.bias', 256)
        p = f'feature_encoder.encode_head.encode_head_head_{k}'
        cin = 258 if k == 1 else encoder
        if encoder_deform:
            add(f'{p}.offset_mask_conv.weight', 27, cin, 3, 3)
            add(f'{p}.offset_mask_conv.bias', 27)
            p += '.dcnv2'
        add(f'{p}.weight', encoder, cin, 3, 3)
        add(f'{p}.bias', encoder)
    add('position_head.out_inst.weight', num_things, 256, 3, 3)
    add('position_head.out_inst.bias', num_things)
    add('position_head.out_sem.weight', stuff_channels, 256, 3, 3)
    add('position_head.out_sem.bias', stuff_channels)
    add('kernel_head.out_conv.weight', 256, 256, 3, 3)
    add('kernel_head.out_conv.bias', 256)
    for gen in ('thing_generator', 'stuff_generator'):
        add(f'{gen}.embed_extractor.weight', encoder, 256, 1, 1)
        add(f'{gen}.embed_extractor.bias', encoder)
    return sd


def build_model(num_things=58, num_stuff=66, encoder=64, encoder_deform=False):
    init_default_scope('mmvps')
    cfg = Config.fromfile(str(ROOT / 'configs/_base_/models/panoptic_fcn_r50.py')).model
    cfg.backbone.init_cfg = None
    head = cfg.panoptic_head
    head.update(num_things=num_things, num_stuff=num_stuff, embed_channels=encoder)
    head.feature_encoder.update(channels=encoder, deform=encoder_deform)
    return nn.ModuleDict(dict(backbone=MODELS.build(cfg.backbone), neck=MODELS.build(cfg.neck),
                              panoptic_head=MODELS.build(head)))


def test_clip_panofcn_layout_loads_strictly(tmp_path):
    sd = detectron2_state_dict()
    src = tmp_path / 'model_final.pth'
    torch.save(dict(model=sd, iteration=120000), src)
    dst = tmp_path / 'out' / 'clip_panofcn.pth'
    converter.main([str(src), str(dst)])
    ckpt = torch.load(dst, map_location='cpu')
    assert ckpt['meta']['num_things'] == 58 and ckpt['meta']['num_stuff'] == 66
    assert ckpt['meta']['position_deform'] and not ckpt['meta']['encoder_deform']
    model = build_model()
    model.load_state_dict(ckpt['state_dict'], strict=True)
    # values land in place
    assert torch.equal(model.neck.fpn_convs[5].conv.weight, sd['backbone.top_block.p7.weight'])
    assert torch.equal(model.neck.lateral_convs[3].conv.bias, sd['backbone.fpn_lateral5.bias'])
    assert torch.equal(model.backbone.layer4[0].downsample[1].running_var,
                       sd['backbone.bottom_up.res5.0.shortcut.norm.running_var'])
    head = model.panoptic_head
    assert torch.equal(head.semantic_fpn.level_convs[3].conv[2].gn.weight,
                       sd['semantic_fpn.p5.4.norm.weight'])
    assert torch.equal(head.position_head.tower.convs[2].conv.conv_offset.bias,
                       sd['position_head.position_head.position_head_head_3.offset_mask_conv.bias'])
    assert torch.equal(head.position_head.tower.convs[0].gn.bias,
                       sd['position_head.position_head.position_head_head_1.dcnv2.norm.bias'])
    assert torch.equal(head.kernel_head.tower.convs[0].conv.weight,
                       sd['kernel_head.kernel_head.kernel_head_head_1.weight'])
    assert torch.equal(head.stuff_projector.conv.weight,
                       sd['stuff_generator.embed_extractor.weight'])
    assert torch.equal(head.position_head.region_conv.bias, sd['position_head.out_sem.bias'])


def test_panopticfcn_star_coco_layout():
    """PanopticFCN* (COCO): 80 things, 53 stuff + 1, deformable 256-d encoder."""
    converted, info = converter.convert_panopticfcn(
        detectron2_state_dict(num_things=80, stuff_channels=54, encoder=256,
                              encoder_deform=True))
    assert info == dict(num_things=80, num_stuff=53, encoder_channels=256, encoder_deform=True,
                        position_deform=True)
    model = build_model(80, 53, 256, True)
    model.load_state_dict(converted, strict=True)


def test_unknown_checkpoints_are_refused_by_name():
    sd = detectron2_state_dict()
    sd['clip_fuse_head.projects.0.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"1 keys of no known.*clip_fuse_head\.projects\.0"):
        converter.convert_panopticfcn(sd, 'ckpt.pth')
    with pytest.raises(ValueError, match='ckpt.pth: not a PanopticFCN checkpoint'):
        converter.convert_panopticfcn({'sem_seg_head.predictor.x': torch.zeros(1)}, 'ckpt.pth')
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        converter.load_detectron2_checkpoint('nothing.pth')


@pytest.mark.parametrize('config', [
    'configs/clip_panofcn/panoptic_fcn_r50_coco-panoptic-3x.py',
    'configs/clip_panofcn/panoptic_fcn_r50_coco-panoptic-3x_star.py'
])
def test_coco_image_configs_build_their_parts(config):
    """The COCO pretraining configs: class numbers, positives, encoder; parts build (the
    ClipPanopticFCN wrapper is the video model's)."""
    init_default_scope('mmvps')
    cfg = Config.fromfile(str(ROOT / config))
    head_cfg = cfg.model.panoptic_head
    assert (head_cfg.num_things, head_cfg.num_stuff, head_cfg.num_positives) == (80, 53, 7)
    star = config.endswith('_star.py')
    assert head_cfg.feature_encoder.deform == star
    head = MODELS.build(head_cfg)
    assert head.thing_projector.conv.out_channels == (256 if star else 64)
    assert head.position_head.center_conv.out_channels == 80
    assert head.position_head.region_conv.out_channels == 54
    assert cfg.optim_wrapper.clip_grad == dict(type='value', clip_value=35)

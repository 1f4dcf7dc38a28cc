"""tools/model_converters/vpsnet_to_mmvps.py on synthetic state dicts in the mcahny/vps layout."""
import importlib.util
from pathlib import Path

import pytest
import torch

from mmvps.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
RELEASED_KEYS = REPO / 'tests' / 'models' / 'data' / 'vpsnet_released_fusetrack_keys.txt'


def load_converter():
    path = REPO / 'tools' / 'model_converters' / 'vpsnet_to_mmvps.py'
    spec = importlib.util.spec_from_file_location('vpsnet_to_mmvps', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def released_layout(device='meta'):
    """A state dict with every key and shape of a released Cityscapes FuseTrack checkpoint."""
    state = {}
    for line in RELEASED_KEYS.read_text().splitlines():
        if line and not line.startswith('#'):
            key, shape = line.split()
            dims = [] if shape == '-' else [int(s) for s in shape.split('x')]
            dtype = torch.long if key.endswith('num_batches_tracked') else torch.float32
            state[key] = torch.zeros(dims, dtype=dtype, device=device)
    return state


# the R-50 Cityscapes VPSNet parts, keyed by their place in the mmvps model
MMVPS_PARTS = {
    'backbone': dict(type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3)),
    'neck': dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5),
    'rpn_head': dict(type='RPNHead', in_channels=256, feat_channels=256, anchor_generator=dict(
        type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64])),
    'roi_head': dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor', out_channels=256,
                                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2),
                                featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(type='Shared2FCBBoxHead', in_channels=256, fc_out_channels=1024,
                       roi_feat_size=7, num_classes=8, reg_class_agnostic=False),
        mask_roi_extractor=dict(type='SingleRoIExtractor', out_channels=256,
                                roi_layer=dict(type='RoIAlign', output_size=14,
                                               sampling_ratio=2),
                                featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(type='FCNMaskHead', num_convs=4, in_channels=256, conv_out_channels=256,
                       num_classes=8)),
    'extra_neck': dict(type='FlowAlignAttendFusion', in_channels=256,
                       flow_estimator=dict(type='FlowNet2Torch'), align_corners=False),
    'semantic_head': dict(type='UPSNetSemanticHead', num_classes=19, in_channels=256,
                          channels=(256, 128, 128), dcn_backend='mmcv'),
    'track_head': dict(type='VPSNetTrackHead', num_fcs=2, roi_feat_size=7, in_channels=256,
                       fc_out_channels=1024),
}


def test_released_fusetrack_layout_loads_strictly_into_mmvps_parts():
    converter = load_converter()
    converted, info = converter.convert_vpsnet(released_layout(), 'fusetrack.pth')
    assert info == dict(num_things=8, num_stuff=11, fusion=True, track=True, flownet2=True)
    prefixes = {key.split('.')[0] for key in converted}
    assert prefixes == set(MMVPS_PARTS)
    compared = []
    for part, cfg in MMVPS_PARTS.items():
        if MODELS.get(cfg['type']) is None:  # a part of the vpsnet-base branch not merged here
            continue
        with torch.device('meta'):
            module = MODELS.build(cfg)
        expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        got = {k[len(part) + 1:]: tuple(v.shape) for k, v in converted.items()
               if k.startswith(part + '.')}
        assert got == expected, part
        module.load_state_dict({k[len(part) + 1:]: v for k, v in converted.items()
                                if k.startswith(part + '.')}, strict=True, assign=True)
        compared.append(part)
    assert {'backbone', 'neck', 'rpn_head', 'roi_head', 'extra_neck'} <= set(compared)


def test_converter_moves_background_and_reorders_semantic_classes():
    converter = load_converter()
    # 3 things + 2 stuff; official: background first (boxes/masks), stuff first (semantics)
    state = {
        'bbox_head.fc_cls.weight': torch.arange(4.).view(4, 1),
        'bbox_head.fc_cls.bias': torch.arange(4.),
        'bbox_head.fc_reg.weight': torch.arange(16.).view(16, 1),
        'bbox_head.fc_reg.bias': torch.arange(16.),
        'mask_head.conv_logits.weight': torch.arange(4.).view(4, 1, 1, 1),
        'mask_head.conv_logits.bias': torch.arange(4.),
        'panopticFPN.conv_pred.conv.weight': torch.arange(5.).view(5, 1, 1, 1),
        'panopticFPN.conv_pred.conv.bias': torch.arange(5.),
        'panopticFPN.deform_convs.0.4.weight': torch.ones(2),
        'extra_neck.tcea_fusion.tAtt_2.bias': torch.full((2, ), 7.),
        'backbone.bn1.running_mean': torch.zeros(2),
        'flownet2.flownetc.conv1.0.weight': torch.ones(1),
    }
    out, info = converter.convert_vpsnet(state)
    assert info['num_things'] == 3 and info['num_stuff'] == 2
    assert out['roi_head.bbox_head.fc_cls.bias'].tolist() == [1, 2, 3, 0]
    assert out['roi_head.bbox_head.fc_reg.bias'].tolist() == list(range(4, 16))
    assert out['roi_head.mask_head.conv_logits.bias'].tolist() == [1, 2, 3]
    assert out['semantic_head.conv_logits.bias'].tolist() == [2, 3, 4, 0, 1]
    assert out['semantic_head.conv_logits.weight'].flatten().tolist() == [2, 3, 4, 0, 1]
    assert out['semantic_head.subnet.1.norm.weight'].tolist() == [1, 1]
    assert out['extra_neck.fusion.temporal_query.bias'].tolist() == [7, 7]
    assert out['backbone.bn1.num_batches_tracked'].item() == 0
    assert 'extra_neck.flow_estimator.flownetc.conv1.0.weight' in out


def test_converter_refuses_unknown_checkpoints(tmp_path):
    converter = load_converter()
    state = released_layout()
    state['extra_neck.something_new.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"ckpt.pth: 1 keys .*extra_neck.something_new.weight"):
        converter.convert_vpsnet(state, 'ckpt.pth')
    with pytest.raises(ValueError, match='not a VPSNet'):
        converter.convert_vpsnet({'backbone.conv1.weight': torch.zeros(1)}, 'other.pth')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        converter.main([str(tmp_path / 'missing.pth'), str(tmp_path / 'out.pth')])


def test_converter_cli_adds_flownet2(tmp_path):
    converter = load_converter()
    state = {k: v for k, v in released_layout('cpu').items()
             if not k.startswith(('flownet2.', 'backbone.layer', 'neck.'))}
    flownet2 = {'flownetc.conv1.0.weight': torch.ones(2)}
    torch.save({'meta': {}, 'state_dict': state}, tmp_path / 'fuse.pth')
    torch.save({'epoch': 1, 'state_dict': flownet2}, tmp_path / 'FlowNet2_checkpoint.pth.tar')
    converter.main([str(tmp_path / 'fuse.pth'), str(tmp_path / 'out.pth'),
                    '--flownet2', str(tmp_path / 'FlowNet2_checkpoint.pth.tar')])
    ckpt = torch.load(tmp_path / 'out.pth', weights_only=True)
    assert ckpt['meta']['flownet2'] and ckpt['meta']['fusion']
    assert ckpt['state_dict']['extra_neck.flow_estimator.flownetc.conv1.0.weight'].sum() == 2
    torch.save({'state_dict': {'conv.weight': torch.ones(1)}}, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match='bad.pth: not a FlowNet2 state dict'):
        converter.main([str(tmp_path / 'fuse.pth'), str(tmp_path / 'out.pth'),
                        '--flownet2', str(tmp_path / 'bad.pth')])

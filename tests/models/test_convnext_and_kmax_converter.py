"""ConvNeXt keys and the kMaX-DeepLab checkpoint converter."""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmdet.models.backbones import ResNet
from torch import nn

from mmvps.models.backbones import ConvNeXt, convert_convnext_state_dict
from mmvps.models.heads.kmax import KMaXSemanticHead, KMaXTransformerDecoder
from mmvps.models.necks import KMaXPixelDecoder

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_converter():
    path = REPO_ROOT / 'tools' / 'model_converters' / 'kmax_deeplab_to_mmvps.py'
    spec = importlib.util.spec_from_file_location('kmax_deeplab_to_mmvps', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_convnext_keys_shapes_and_outputs():
    model = ConvNeXt('tiny')
    state = model.state_dict()
    assert len(state) == 2 * 2 + 3 * 4 + 18 * 9  # stem, 3 downsamplings, 18 blocks of 9 tensors
    assert state['downsample_layers.0.0.weight'].shape == (96, 3, 4, 4)
    assert state['downsample_layers.0.1.weight'].shape == (96, )  # channels-first LN
    assert state['downsample_layers.2.0.weight'].shape == (192, )  # LN before the conv
    assert state['downsample_layers.2.1.weight'].shape == (384, 192, 2, 2)
    assert state['stages.2.8.depthwise_conv.weight'].shape == (384, 1, 7, 7)
    assert state['stages.2.8.pointwise_conv1.weight'].shape == (1536, 384)
    assert state['stages.3.2.gamma'].shape == (768, )
    assert torch.all(state['stages.3.2.gamma'] == 1e-6)
    small = ConvNeXt(dict(depths=(1, 1, 2, 1), channels=(8, 16, 32, 64)), drop_path_rate=0.4,
                     out_indices=(0, 2, 3)).eval()
    outs = small(torch.randn(2, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 24), (2, 32, 4, 6), (2, 64, 2, 3)]
    rates = [b.drop_path.drop_prob if hasattr(b.drop_path, 'drop_prob') else 0.0
             for stage in small.stages for b in stage]
    assert rates == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    padded = ConvNeXt(dict(depths=(1, 1, 1, 1), channels=(8, 16, 32, 64)),
                      deeplab2_padding=True).eval()
    assert padded(torch.randn(1, 3, 65, 97))[0].shape == (1, 8, 17, 25)  # 32k+1 sizes
    with pytest.raises(ValueError, match='unknown arch'):
        ConvNeXt('huge')


def _to_timm(key):
    """mmvps -> timm ConvNeXt key (the inverse of the converter's rules, written out)."""
    parts = key.split('.')
    if parts[0] == 'downsample_layers':
        return f'stem.{parts[2]}.{parts[3]}' if parts[1] == '0' else \
            f'stages.{parts[1]}.downsample.{parts[2]}.{parts[3]}'
    name = {'depthwise_conv': 'conv_dw', 'pointwise_conv1': 'mlp.fc1',
            'pointwise_conv2': 'mlp.fc2'}.get(parts[3], parts[3])
    return '.'.join([parts[0], parts[1], 'blocks', parts[2], name] + parts[4:])


def _to_facebook(key):
    for new, old in (('depthwise_conv', 'dwconv'), ('pointwise_conv1', 'pwconv1'),
                     ('pointwise_conv2', 'pwconv2')):
        key = key.replace(new, old)
    return key


@pytest.mark.parametrize('layout', ['timm', 'facebook', 'mmpretrain'])
def test_convnext_state_dict_conversion_round_trip(layout):
    state = ConvNeXt(dict(depths=(1, 2, 1, 1), channels=(8, 16, 32, 64))).state_dict()
    rename = {'timm': _to_timm, 'facebook': _to_facebook, 'mmpretrain': lambda k: k}[layout]
    public = {rename(k): v for k, v in state.items()}
    public.update({'head.fc.weight': torch.zeros(10, 64)} if layout == 'timm' else
                  {'norm.weight': torch.ones(64), 'head.weight': torch.zeros(10, 64)})
    converted = convert_convnext_state_dict(public)
    assert converted.keys() == state.keys()
    assert all(converted[k] is public[rename(k)] for k in state)
    with pytest.raises(KeyError, match='my.ckpt: 1 ConvNeXt keys'):
        convert_convnext_state_dict(dict(public, **{'stages.0.0.extra': torch.zeros(1)}),
                                    source='my.ckpt')


def reference_kmax_state_dict(backbone='r50', num_classes=133, num_queries=128):
    """Key layout and shapes of a bytedance/kmax-deeplab checkpoint (detectron2 ``kMaXDeepLab``,
    COCO settings), written from the reference modules; meta tensors (no memory)."""
    sd = {}

    def tensor(key, *shape):
        sd[key] = torch.empty(shape, device='meta')

    def bn(prefix, c):
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            tensor(f'{prefix}.{name}', c)
        sd[f'{prefix}.num_batches_tracked'] = torch.empty((), dtype=torch.long, device='meta')

    def convbn(prefix, cin, cout, k=1, groups=1, bias=False, norm=True, dim=2):
        tensor(f'{prefix}.conv.weight', cout, cin // groups, *([k] * dim))
        if bias:
            tensor(f'{prefix}.conv.bias', cout)
        if norm:
            bn(f'{prefix}.norm', cout)

    if backbone == 'r50':
        tensor('backbone.stem.conv1.weight', 64, 3, 7, 7)
        bn('backbone.stem.conv1.norm', 64)
        cin, widths = 64, (64, 128, 256, 512)
        for stage, (blocks, width) in enumerate(zip((3, 4, 6, 3), widths)):
            for j in range(blocks):
                p = f'backbone.res{stage + 2}.{j}'
                for name, a, b, k in (('conv1', cin, width, 1), ('conv2', width, width, 3),
                                      ('conv3', width, 4 * width, 1)):
                    tensor(f'{p}.{name}.weight', b, a, k, k)
                    bn(f'{p}.{name}.norm', b)
                if cin != 4 * width:
                    tensor(f'{p}.shortcut.weight', 4 * width, cin, 1, 1)
                    bn(f'{p}.shortcut.norm', 4 * width)
                cin = 4 * width
        feat_channels = (256, 512, 1024, 2048)
    else:  # ConvNeXt-L in the facebookresearch layout kMaX's D2ConvNeXt keeps
        dims = (192, 384, 768, 1536)
        for i in range(4):
            p = f'backbone.downsample_layers.{i}'
            if i == 0:
                tensor(f'{p}.0.weight', dims[0], 3, 4, 4)
                tensor(f'{p}.0.bias', dims[0])
                tensor(f'{p}.1.weight', dims[0])
                tensor(f'{p}.1.bias', dims[0])
            else:
                tensor(f'{p}.0.weight', dims[i - 1])
                tensor(f'{p}.0.bias', dims[i - 1])
                tensor(f'{p}.1.weight', dims[i], dims[i - 1], 2, 2)
                tensor(f'{p}.1.bias', dims[i])
            for j in range((3, 3, 27, 3)[i]):
                p = f'backbone.stages.{i}.{j}'
                c = dims[i]
                tensor(f'{p}.gamma', c)
                tensor(f'{p}.dwconv.weight', c, 1, 7, 7)
                tensor(f'{p}.dwconv.bias', c)
                tensor(f'{p}.norm.weight', c)
                tensor(f'{p}.norm.bias', c)
                tensor(f'{p}.pwconv1.weight', 4 * c, c)
                tensor(f'{p}.pwconv1.bias', 4 * c)
                tensor(f'{p}.pwconv2.weight', c, 4 * c)
                tensor(f'{p}.pwconv2.bias', c)
        feat_channels = dims

    pd = 'sem_seg_head.pixel_decoder'
    in_channels = feat_channels[::-1]
    dec = (512, 256, 128, 64)
    for i, c in enumerate(in_channels):
        tensor(f'{pd}._in_norms.{i}.weight', c)
        tensor(f'{pd}._in_norms.{i}.bias', c)
    for i, (blocks, kind) in enumerate(zip((1, 5, 1, 1), ('axial', 'axial', 'bottleneck',
                                                          'bottleneck'))):
        f = dec[i]
        cin = in_channels[0] if i == 0 else f
        for j in range(blocks):
            p = f'{pd}._stages.{i}._blocks.{j}'
            width = 2 * f if kind == 'axial' else f
            convbn(f'{p}._conv1_bn_act', cin, width)
            if kind == 'axial':
                for axis, a_in in (('height', 2 * f), ('width', 2 * f)):
                    a = f'{p}._attention._{axis}_axis'
                    tensor(f'{a}.qkv_transform.conv.weight', 4 * f, a_in, 1)
                    tensor(f'{a}._query_rpe._embeddings.weight', 509, f // 8)
                    tensor(f'{a}._key_rpe._embeddings.weight', 509, f // 8)
                    tensor(f'{a}._value_rpe._embeddings.weight', 509, 2 * f // 8)
                    bn(f'{a}._batch_norm_qkv', 4 * f)
                    bn(f'{a}._batch_norm_similarity', 24)
                    bn(f'{a}._batch_norm_retrieved_output', 4 * f)
            else:
                convbn(f'{p}._conv2_bn_act', f, f, k=3)
            convbn(f'{p}._conv3_bn', width, 4 * f)
            if cin != 4 * f:
                convbn(f'{p}._shortcut', cin, 4 * f)
            cin = 4 * f
        if i > 0:
            convbn(f'{pd}._resized_fuses.{i - 1}._conv_bn_low', 4 * dec[i - 1], f)
            convbn(f'{pd}._resized_fuses.{i - 1}._conv_bn_high', in_channels[i], f)

    pr = 'sem_seg_head.predictor'

    def predictor(p, cin):
        convbn(f'{p}._pixel_space_head_conv0bnact', cin, cin, k=5, groups=cin)
        convbn(f'{p}._pixel_space_head_conv1bnact', cin, 256)
        convbn(f'{p}._pixel_space_head_last_convbn', 256, 128, bias=True)
        convbn(f'{p}._transformer_mask_head', 256, 128, dim=1)
        convbn(f'{p}._transformer_class_head', 256, num_classes + 1, bias=True, norm=False,
               dim=1)
        bn(f'{p}._pixel_space_mask_batch_norm', 1)

    for i, cin in enumerate((2048, 2048, 1024, 1024, 512, 512)):
        p = f'{pr}._kmax_transformer_layers.{i}'
        convbn(f'{p}._query_conv1_bn_act', 256, 256, dim=1)
        convbn(f'{p}._pixel_conv1_bn_act', cin, 256)
        convbn(f'{p}._query_qkv_conv_bn', 256, 512, dim=1)
        convbn(f'{p}._pixel_v_conv_bn', 256, 256)
        bn(f'{p}._query_self_attention._batch_norm_similarity', 8)
        bn(f'{p}._query_self_attention._batch_norm_retrieved_value', 256)
        convbn(f'{p}._query_conv3_bn', 256, 256, dim=1)
        convbn(f'{p}._query_ffn_conv1_bn_act', 256, 2048, dim=1)
        convbn(f'{p}._query_ffn_conv2_bn', 2048, 256, dim=1)
        predictor(f'{p}._predcitor', 256)
        bn(f'{p}._kmeans_query_batch_norm_retrieved_value', 256)
        convbn(f'{p}._kmeans_query_conv3_bn', 256, 256, dim=1)
    tensor(f'{pr}._cluster_centers.weight', 256, num_queries)
    convbn(f'{pr}._class_embedding_projection', 256, 256, dim=1)
    convbn(f'{pr}._mask_embedding_projection', 256, 256, dim=1)
    predictor(f'{pr}._predcitor', 256)
    sp = f'{pr}._auxiliary_semantic_predictor'
    res2, res3, res5 = feat_channels[0], feat_channels[1], feat_channels[3]
    convbn(f'{sp}._aspp._aspp_conv0', res5, 256)
    for k in (1, 2, 3):
        convbn(f'{sp}._aspp._aspp_conv{k}', res5, 256, k=3)
    convbn(f'{sp}._aspp._aspp_pool', res5, 256)
    convbn(f'{sp}._aspp._proj_conv_bn_act', 1280, 256)
    for os, skip, proj in ((8, res3, 64), (4, res2, 32)):
        convbn(f'{sp}._low_level_projection_os{os}', skip, proj)
        convbn(f'{sp}._low_level_fusion_os{os}_conv0_bn_act', 256 + proj, 256 + proj, k=5,
               groups=256 + proj)
        convbn(f'{sp}._low_level_fusion_os{os}_conv1_bn_act', 256 + proj, 256)
    convbn(f'{sp}.conv_block_0', 256, 256, k=5, groups=256)
    convbn(f'{sp}.conv_block_1', 256, 256)
    convbn(f'{sp}.final_conv', 256, num_classes + 1, bias=True, norm=False)
    return sd


class KMaXModules(nn.Module):
    """The four parts under the attribute names the ClipKMaX segmentor uses."""

    def __init__(self, backbone, feat_channels, num_classes):
        super().__init__()
        norm_cfg = dict(type='SyncBN', eps=1e-3, momentum=0.01)
        self.backbone = backbone
        self.pixel_decoder = KMaXPixelDecoder(in_channels=feat_channels, input_size=(1280, 1280),
                                              norm_cfg=norm_cfg)
        self.transformer_decoder = KMaXTransformerDecoder(num_classes=num_classes,
                                                          num_queries=64, norm_cfg=norm_cfg)
        self.semantic_head = KMaXSemanticHead(
            in_channels=(feat_channels[0], feat_channels[1], feat_channels[3]),
            num_classes=num_classes, norm_cfg=norm_cfg)


@pytest.mark.parametrize('backbone', ['r50', 'convnext_large'])
def test_converter_loads_reference_layout_strictly(backbone):
    converter = load_converter()
    reference = reference_kmax_state_dict(backbone, num_classes=19, num_queries=64)
    converted, info = converter.convert_kmax_deeplab(reference, source='kmax.pth')
    assert info['num_classes'] == 19 and info['num_queries'] == 64
    with torch.device('meta'):
        if backbone == 'r50':
            model = KMaXModules(
                ResNet(50, norm_cfg=dict(type='SyncBN', eps=1e-3, momentum=0.01)),
                (256, 512, 1024, 2048), 19)
            assert info['backbone'] == 'ResNet'
        else:
            model = KMaXModules(ConvNeXt('large', deeplab2_padding=True),
                                (192, 384, 768, 1536), 19)
            assert info == dict(backbone='ConvNeXt', depths=[3, 3, 27, 3],
                                channels=[192, 384, 768, 1536], num_classes=19, num_queries=64)
    result = model.load_state_dict(converted, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    # semantic head: C + 1 reference outputs -> the C classes
    assert converted['semantic_head.cls_conv.conv.weight'].shape == (19, 256, 1, 1)
    assert converted['transformer_decoder.predictor.class_head.conv.weight'].shape == (20, 256, 1)


def test_converter_refuses_unknown_keys_and_other_checkpoints(tmp_path):
    converter = load_converter()
    reference = reference_kmax_state_dict('r50', num_classes=19, num_queries=64)
    reference['sem_seg_head.predictor._mystery_head.weight'] = torch.zeros(3)
    with pytest.raises(ValueError, match=r"kmax.pth: 1 keys .*_mystery_head"):
        converter.convert_kmax_deeplab(reference, source='kmax.pth')
    with pytest.raises(ValueError, match='other.pth: not a kMaX-DeepLab checkpoint'):
        converter.convert_kmax_deeplab({'backbone.conv1.weight': torch.zeros(1)}, 'other.pth')


def test_converter_cli_round_trip(tmp_path):
    """A small real (non-meta) checkpoint file through the command line: values are kept."""
    converter = load_converter()
    reference = {k: torch.randn(v.shape) if v.is_floating_point() else torch.tensor(0)
                 for k, v in reference_kmax_state_dict('r50', 3, 4).items()
                 if not k.startswith('backbone.res') and v.numel() <= 65536}
    # a ported TF checkpoint has no num_batches_tracked: the converter fills it
    reference = {k: v for k, v in reference.items() if not k.endswith('num_batches_tracked')}
    src, dst = tmp_path / 'kmax_r50.pth', tmp_path / 'out' / 'mmvps.pth'
    torch.save(dict(model=reference, iteration=5), src)
    converter.main([str(src), str(dst)])
    state = torch.load(dst)['state_dict']
    key = 'sem_seg_head.predictor._kmax_transformer_layers.3._query_ffn_conv1_bn_act.norm.bias'
    assert torch.equal(state['transformer_decoder.layers.3.ffn.fc1.bn.bias'], reference[key])
    assert torch.equal(state['pixel_decoder.stages.1.4.attention.width_axis.value_rpe.embeddings'],
                       reference['sem_seg_head.pixel_decoder._stages.1._blocks.4._attention.'
                                 '_width_axis._value_rpe._embeddings.weight'])
    assert torch.equal(state['semantic_head.cls_conv.conv.bias'], reference[
        'sem_seg_head.predictor._auxiliary_semantic_predictor.final_conv.conv.bias'][:-1])
    assert state['backbone.bn1.num_batches_tracked'] == 0

"""Convert a PyTorch kMaX-DeepLab checkpoint (bytedance/kmax-deeplab, detectron2 keys; ResNet-50
or ConvNeXt backbone) into mmvps keys.

The result is an mmengine checkpoint ``{'state_dict': ..., 'meta': ...}`` whose keys start with
``backbone.`` (mmdet ``ResNet`` or mmvps ``ConvNeXt``), ``pixel_decoder.``
(``KMaXPixelDecoder``), ``transformer_decoder.`` (``KMaXTransformerDecoder``) and
``semantic_head.`` (``KMaXSemanticHead``); it loads strictly into those modules. The semantic
head's void output row (kMaX predicts C + 1 semantic classes, its loss ignores the last) is
dropped: mmvps' head predicts the C classes. BN layers without ``num_batches_tracked`` (ported
TensorFlow checkpoints) get 0.

Usage: python tools/model_converters/kmax_deeplab_to_mmvps.py IN.pth|IN.pkl OUT.pth [--video]
(``--video``: keys under ``segmenter.``, for ``VideoKMaX``)
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

from mmvps.models.backbones import convert_convnext_state_dict

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from model_converter_utils import (BN_STATS, add_num_batches_tracked,  # noqa: E402
                                   apply_rules, detectron2_resnet_key,
                                   load_detectron2_checkpoint, save_converted)

PIXEL_DECODER = 'sem_seg_head.pixel_decoder.'
PREDICTOR = 'sem_seg_head.predictor.'
SEMANTIC = PREDICTOR + '_auxiliary_semantic_predictor.'

# (pattern, replacement) applied in order to the key after its prefix
PIXEL_DECODER_RULES = [
    (r'^_in_norms\.', 'input_norms.'),
    (r'^_stages\.(\d+)\._blocks\.(\d+)\.', r'stages.\1.\2.'),
    (r'\._conv1_bn_act\.', '.conv1.'),
    (r'\._conv2_bn_act\.', '.conv2.'),
    (r'\._conv3_bn\.', '.conv3.'),
    (r'\._shortcut\.', '.shortcut.'),
    (r'\._attention\._(height|width)_axis\.', r'.attention.\1_axis.'),
    (r'\.qkv_transform\.conv\.', '.qkv.conv.'),
    (r'\._batch_norm_qkv\.', '.qkv.bn.'),
    (r'\._(query|key|value)_rpe\._embeddings\.weight$', r'.\1_rpe.embeddings'),
    (r'\._batch_norm_similarity\.', '.similarity_norm.'),
    (r'\._batch_norm_retrieved_output\.', '.output_norm.'),
    (r'^_resized_fuses\.(\d+)\._conv_bn_low\.', r'resized_fuses.\1.low_proj.'),
    (r'^_resized_fuses\.(\d+)\._conv_bn_high\.', r'resized_fuses.\1.high_proj.'),
]
PREDICTOR_RULES = [
    (r'^_pixel_space_head_conv0bnact\.', 'pixel_conv_dw.'),
    (r'^_pixel_space_head_conv1bnact\.', 'pixel_conv1.'),
    (r'^_pixel_space_head_last_convbn\.', 'pixel_conv2.'),
    (r'^_transformer_mask_head\.', 'mask_head.'),
    (r'^_transformer_class_head\.', 'class_head.'),
    (r'^_pixel_space_mask_batch_norm\.', 'mask_norm.'),
]
LAYER_RULES = [
    (r'^_query_conv1_bn_act\.', 'query_proj.'),
    (r'^_pixel_conv1_bn_act\.', 'pixel_proj.'),
    (r'^_query_qkv_conv_bn\.', 'self_attention.qkv.'),
    (r'^_pixel_v_conv_bn\.', 'kmeans_attention.value_proj.'),
    (r'^_query_self_attention\._batch_norm_similarity\.', 'self_attention.similarity_norm.'),
    (r'^_query_self_attention\._batch_norm_retrieved_value\.', 'self_attention.value_norm.'),
    (r'^_query_conv3_bn\.', 'self_attention.out_proj.'),
    (r'^_query_ffn_conv1_bn_act\.', 'ffn.fc1.'),
    (r'^_query_ffn_conv2_bn\.', 'ffn.fc2.'),
    (r'^_kmeans_query_batch_norm_retrieved_value\.', 'kmeans_attention.update_norm.'),
    (r'^_kmeans_query_conv3_bn\.', 'kmeans_attention.out_proj.'),
]
SEMANTIC_RULES = [
    (r'^_aspp\._aspp_conv(\d)\.', r'aspp.convs.\1.'),
    (r'^_aspp\._aspp_pool\.', 'aspp.pool_conv.'),
    (r'^_aspp\._proj_conv_bn_act\.', 'aspp.project.'),
    (r'^_low_level_projection_os(8|4)\.', r'fuse_os\1.skip_proj.'),
    (r'^_low_level_fusion_os(8|4)_conv0_bn_act\.', r'fuse_os\1.conv_dw.'),
    (r'^_low_level_fusion_os(8|4)_conv1_bn_act\.', r'fuse_os\1.conv_pw.'),
    (r'^conv_block_0\.', 'conv_dw.'),
    (r'^conv_block_1\.', 'conv_pw.'),
    (r'^final_conv\.', 'cls_conv.'),
]
# the mmvps key each part may end with: a conv (.conv.weight/.conv.bias), its BN (.bn.*), a bare
# norm (*_norm.*), a LayerNorm, an RPE table, the cluster centres
HEAD_KEY = re.compile(r'(\.conv\.(weight|bias)|\.bn\.' + BN_STATS + r'|_norm\.' + BN_STATS +
                      r'|^input_norms\.\d+\.(weight|bias)|_rpe\.embeddings|^cluster_centers)$')

def _convbn_norm(key: str) -> str:
    """kMaX's ConvBN keeps its BN as ``.norm``; mmcv's ConvModule names it ``.bn``."""
    return re.sub(r'\.norm\.' + BN_STATS, r'.bn.\1', key)


def _head_key(key: str):
    """mmvps key of a kMaX head key (no ``backbone.``), or None when it has no known place."""
    if key.startswith(PIXEL_DECODER):
        new = 'pixel_decoder.' + _convbn_norm(
            apply_rules(PIXEL_DECODER_RULES, key[len(PIXEL_DECODER):]))
    elif key.startswith(SEMANTIC):
        new = 'semantic_head.' + _convbn_norm(apply_rules(SEMANTIC_RULES, key[len(SEMANTIC):]))
    elif key.startswith(PREDICTOR):
        rest = key[len(PREDICTOR):]
        match = re.match(r'^_kmax_transformer_layers\.(\d+)\.', rest)
        if match:
            rest = rest[match.end():]
            if rest.startswith('_predcitor.'):
                rest = 'predictor.' + apply_rules(PREDICTOR_RULES, rest[len('_predcitor.'):])
            else:
                rest = apply_rules(LAYER_RULES, rest)
            rest = f'layers.{match[1]}.{rest}'
        elif rest.startswith('_predcitor.'):
            rest = 'predictor.' + apply_rules(PREDICTOR_RULES, rest[len('_predcitor.'):])
        elif rest == '_cluster_centers.weight':
            rest = 'cluster_centers'
        else:
            rest = re.sub(r'^_class_embedding_projection\.', 'class_embed_proj.', rest)
            rest = re.sub(r'^_mask_embedding_projection\.', 'mask_embed_proj.', rest)
        new = 'transformer_decoder.' + _convbn_norm(rest)
    else:
        return None
    return new if HEAD_KEY.search(new.split('.', 1)[1]) and '._' not in new else None


def convert_kmax_deeplab(state_dict: Dict[str, torch.Tensor],
                         source: str = 'checkpoint') -> Tuple[Dict[str, torch.Tensor], dict]:
    """Convert a kMaX-DeepLab (detectron2) state dict. Returns ``(state_dict, info)`` with
    ``info`` = backbone type / ConvNeXt channels / num_classes / num_queries. Raises
    ``ValueError`` naming ``source`` and the keys that have no place in mmvps."""
    if not any(k.startswith(PREDICTOR) for k in state_dict):
        raise ValueError(f'{source}: not a kMaX-DeepLab checkpoint (no "{PREDICTOR}" keys; '
                         f'first keys: {list(state_dict)[:5]})')
    converted, unknown = OrderedDict(), []
    backbone = {k[len('backbone.'):]: v for k, v in state_dict.items()
                if k.startswith('backbone.')}
    if 'stem.conv1.weight' in backbone:
        info = dict(backbone='ResNet')
        for key, value in backbone.items():
            new = detectron2_resnet_key(key)
            if new is not None:
                converted['backbone.' + new] = value
            else:
                unknown.append('backbone.' + key)
    elif 'downsample_layers.0.0.weight' in backbone or 'stem.0.weight' in backbone:
        try:
            backbone = convert_convnext_state_dict(backbone, source)
        except KeyError as err:
            raise ValueError(str(err.args[0])) from None
        channels = [backbone[f'downsample_layers.{i}.{0 if i == 0 else 1}.weight'].shape[0]
                    for i in range(4)]
        depths = [len({k.split('.')[2] for k in backbone if k.startswith(f'stages.{i}.')})
                  for i in range(4)]
        info = dict(backbone='ConvNeXt', depths=depths, channels=channels)
        converted.update(('backbone.' + k, v) for k, v in backbone.items())
    else:
        raise ValueError(f'{source}: unknown backbone (neither a detectron2 ResNet nor a ConvNeXt '
                         f'layout); backbone keys start with {list(backbone)[:5]}')
    for key, value in state_dict.items():
        if key.startswith('backbone.') or key in ('pixel_mean', 'pixel_std'):
            continue
        new = _head_key(key)
        if new is None:
            unknown.append(key)
            continue
        if new.startswith('semantic_head.cls_conv.conv.'):
            value = value[:-1]  # drop the void class
        converted[new] = value
    if unknown:
        raise ValueError(f'{source}: {len(unknown)} keys of no known kMaX-DeepLab layout, e.g. '
                         f'{unknown[:10]}')
    add_num_batches_tracked(converted)
    info.update(
        num_classes=converted['transformer_decoder.predictor.class_head.conv.weight'].shape[0] - 1,
        num_queries=converted['transformer_decoder.cluster_centers'].shape[1])
    return converted, info


def parse_args(argv: List[str] = None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='kMaX-DeepLab checkpoint (.pth or .pkl)')
    parser.add_argument('dst', help='output mmvps checkpoint (.pth)')
    parser.add_argument(
        '--video', action='store_true',
        help='prefix every key with "segmenter." so the result loads into VideoKMaX (load_from '
        'of the configs/video_kmax video configs); without it, it loads into ClipKMaX')
    return parser.parse_args(argv)


def main(argv: List[str] = None) -> None:
    args = parse_args(argv)
    state_dict = load_detectron2_checkpoint(args.src)
    converted, info = convert_kmax_deeplab(state_dict, source=args.src)
    if args.video:
        converted = OrderedDict((f'segmenter.{key}', value) for key, value in converted.items())
    save_converted(converted, info, args.src, args.dst)


if __name__ == '__main__':
    main()

"""Convert a released PanopticFCN checkpoint (dvlab-research/PanopticFCN, COCO: PanopticFCN or
PanopticFCN*) or Clip-PanoFCN checkpoint (VIPSeg-Dataset/VIPSeg-Dataset ``ClipPanoFCN``, VIPSeg)
from detectron2 keys into mmvps keys.

The result is an mmengine checkpoint ``{'state_dict': ..., 'meta': ...}`` with keys
``backbone.`` (mmdet ``ResNet``, caffe style), ``neck.`` (mmdet ``FPN`` with the P6 / P7 convs
as ``fpn_convs.4`` / ``.5``) and ``panoptic_head.`` (:class:`PanopticFCNHead`); it loads strictly
into a model built from ``configs/_base_/models/panoptic_fcn_r50.py`` with the checkpoint's
class numbers and encoder (``meta`` lists them: ``num_things``, ``num_stuff``,
``encoder_channels``, ``encoder_deform``, ``position_deform``). A key of no known layout stops
the conversion and is named (e.g. a ClipFuseHead, which the released configs do not train).
FrozenBN layers get ``num_batches_tracked`` = 0.

Input colour order: the released Clip-PanoFCN VIPSeg model was trained on RGB input, the
PanopticFCN COCO models on BGR (both minus mean (123.675, 116.28, 103.53), std 1): set the
data preprocessor's ``bgr_to_rgb`` accordingly.

Usage: python tools/model_converters/panopticfcn_to_mmvps.py IN.pth|IN.pkl OUT.pth
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from model_converter_utils import (add_num_batches_tracked,  # noqa: E402
                                   detectron2_resnet_key, load_detectron2_checkpoint,
                                   save_converted)

# detectron2 FPN with LastLevelP6P7 -> mmdet FPN
FPN_RULES = [
    (r'^fpn_lateral([2-5])\.(weight|bias)$',
     lambda m: f'lateral_convs.{int(m[1]) - 2}.conv.{m[2]}'),
    (r'^fpn_output([2-5])\.(weight|bias)$', lambda m: f'fpn_convs.{int(m[1]) - 2}.conv.{m[2]}'),
    (r'^top_block\.p6\.(weight|bias)$', r'fpn_convs.4.conv.\1'),
    (r'^top_block\.p7\.(weight|bias)$', r'fpn_convs.5.conv.\1'),
]


def _tower(prefix: str, name: str, target: str):
    """Rules of one PanopticFCN ``SingleHead`` (plain or modulated-deformable convs with or
    without GN) -> an mmvps ``ConvTower`` (``convs.{i}`` ConvModules)."""
    head = rf'^{prefix}\.{name}\.{name}_head_(\d+)\.'

    def idx(m):
        return f'{target}.convs.{int(m[1]) - 1}'

    return [
        (head + r'offset_mask_conv\.(weight|bias)$', lambda m: f'{idx(m)}.conv.conv_offset.{m[2]}'),
        (head + r'dcnv2\.norm\.(weight|bias)$', lambda m: f'{idx(m)}.gn.{m[2]}'),
        (head + r'dcnv2\.(weight|bias)$', lambda m: f'{idx(m)}.conv.{m[2]}'),
        (head + r'norm\.(weight|bias)$', lambda m: f'{idx(m)}.gn.{m[2]}'),
        (head + r'(weight|bias)$', lambda m: f'{idx(m)}.conv.{m[2]}'),
    ]


def _semantic_fpn(m) -> str:
    # detectron2 Sequential [conv, (upsample)]*: conv j sits at index j (stride 4) or 2j
    level, index = int(m[1]) - 2, int(m[2])
    conv = index if level == 0 else index // 2
    part = 'gn' if m[3] else 'conv'
    return f'semantic_fpn.level_convs.{level}.conv.{conv}.{part}.{m[4]}'


HEAD_RULES = ([(r'^semantic_fpn\.p([2-5])\.(\d+)\.(norm\.)?(weight|bias)$', _semantic_fpn)] +
              _tower('position_head', 'position_head', 'position_head.tower') +
              [(r'^position_head\.out_inst\.(weight|bias)$', r'position_head.center_conv.\1'),
               (r'^position_head\.out_sem\.(weight|bias)$', r'position_head.region_conv.\1')] +
              _tower('kernel_head', 'kernel_head', 'kernel_head.tower') +
              [(r'^kernel_head\.out_conv\.(weight|bias)$', r'kernel_head.out_conv.\1')] +
              _tower('feature_encoder', 'encode_head', 'feature_encoder') +
              [(r'^thing_generator\.embed_extractor\.(weight|bias)$', r'thing_projector.conv.\1'),
               (r'^stuff_generator\.embed_extractor\.(weight|bias)$', r'stuff_projector.conv.\1')])
IGNORED = ('pixel_mean', 'pixel_std')


def _first_match(rules, key: str):
    for pattern, repl in rules:
        new, count = re.subn(pattern, repl, key)
        if count:
            return new
    return None


def convert_panopticfcn(state_dict: Dict[str, torch.Tensor],
                        source: str = 'checkpoint') -> Tuple[Dict[str, torch.Tensor], dict]:
    """Convert a PanopticFCN / Clip-PanoFCN (detectron2) state dict. Returns ``(state_dict,
    info)``; raises ``ValueError`` naming ``source`` and every key of no known layout."""
    if not any(k.startswith('position_head.') for k in state_dict):
        raise ValueError(f'{source}: not a PanopticFCN checkpoint (no "position_head." keys; '
                         f'first keys: {list(state_dict)[:5]})')
    converted, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        if key in IGNORED:
            continue
        new = None
        if key.startswith('backbone.bottom_up.'):
            rest = detectron2_resnet_key(key[len('backbone.bottom_up.'):])
            new = 'backbone.' + rest if rest else None
        elif key.startswith('backbone.'):
            rest = _first_match(FPN_RULES, key[len('backbone.'):])
            new = 'neck.' + rest if rest else None
        else:
            rest = _first_match(HEAD_RULES, key)
            new = 'panoptic_head.' + rest if rest else None
        if new is None:
            unknown.append(key)
        else:
            converted[new] = value
    if unknown:
        raise ValueError(f'{source}: {len(unknown)} keys of no known PanopticFCN layout, e.g. '
                         f'{unknown[:10]}')
    add_num_batches_tracked(converted)
    head = 'panoptic_head.'
    try:
        info = dict(
            num_things=converted[head + 'position_head.center_conv.weight'].shape[0],
            num_stuff=converted[head + 'position_head.region_conv.weight'].shape[0] - 1,
            encoder_channels=converted[head + 'thing_projector.conv.weight'].shape[0],
            encoder_deform=any(k.startswith(head + 'feature_encoder.') and 'conv_offset' in k
                               for k in converted),
            position_deform=any(k.startswith(head + 'position_head.') and 'conv_offset' in k
                                for k in converted))
    except KeyError as err:
        raise ValueError(f'{source}: incomplete PanopticFCN checkpoint, {err.args[0]} '
                         f'missing after conversion') from None
    return converted, info


def parse_args(argv: List[str] = None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='PanopticFCN / Clip-PanoFCN checkpoint (.pth or .pkl)')
    parser.add_argument('dst', help='output mmvps checkpoint (.pth)')
    return parser.parse_args(argv)


def main(argv: List[str] = None) -> None:
    args = parse_args(argv)
    state_dict = load_detectron2_checkpoint(args.src)
    converted, info = convert_panopticfcn(state_dict, source=args.src)
    save_converted(converted, info, args.src, args.dst)


if __name__ == '__main__':
    main()

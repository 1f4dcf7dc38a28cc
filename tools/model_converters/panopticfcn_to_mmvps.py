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
import pickle
import re
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch

BN_STATS = r'(weight|bias|running_mean|running_var|num_batches_tracked)$'
# detectron2 ResNet -> mmdet ResNet (stem conv1 / res{2..5} -> layer{1..4})
RESNET_RULES = [
    (r'^stem\.conv1\.norm\.', 'bn1.'),
    (r'^stem\.conv1\.weight$', 'conv1.weight'),
    (r'^res(\d)\.(\d+)\.shortcut\.norm\.', lambda m: f'layer{int(m[1]) - 1}.{m[2]}.downsample.1.'),
    (r'^res(\d)\.(\d+)\.shortcut\.weight$',
     lambda m: f'layer{int(m[1]) - 1}.{m[2]}.downsample.0.weight'),
    (r'^res(\d)\.(\d+)\.conv(\d)\.norm\.', lambda m: f'layer{int(m[1]) - 1}.{m[2]}.bn{m[3]}.'),
    (r'^res(\d)\.(\d+)\.conv(\d)\.weight$',
     lambda m: f'layer{int(m[1]) - 1}.{m[2]}.conv{m[3]}.weight'),
]
RESNET_KEY = re.compile(r'^(conv1\.weight|bn1\.' + BN_STATS + r'|layer\d\.\d+\.(conv\d\.weight|'
                        r'bn\d\.' + BN_STATS + r'|downsample\.0\.weight|downsample\.1\.' +
                        BN_STATS + r'))$')
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
            rest = key[len('backbone.bottom_up.'):]
            for pattern, repl in RESNET_RULES:
                rest = re.sub(pattern, repl, rest)
            new = 'backbone.' + rest if RESNET_KEY.match(rest) else None
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
    for key in list(converted):
        if key.endswith('.running_mean'):
            converted.setdefault(key[:-len('running_mean')] + 'num_batches_tracked',
                                 torch.tensor(0, dtype=torch.long))
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


def load_detectron2_checkpoint(path: str) -> Dict[str, torch.Tensor]:
    """The ``model`` state dict of a detectron2 ``.pth`` (torch) or ``.pkl`` (numpy) file."""
    if not Path(path).is_file():
        raise FileNotFoundError(f'{path}: no such checkpoint file')
    if path.endswith('.pkl'):
        with open(path, 'rb') as f:
            obj = pickle.load(f, encoding='latin1')
    else:
        # detectron2 checkpoints carry optimizer / scheduler objects: not weights-only
        obj = torch.load(path, map_location='cpu', weights_only=False)
    state = obj.get('model', obj.get('state_dict', obj)) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path}: expected a dict with a "model" state dict, got {type(obj)}')
    return {k: torch.from_numpy(np.asarray(v)) if isinstance(v, np.ndarray) else v
            for k, v in state.items()}


def parse_args(argv: List[str] = None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='PanopticFCN / Clip-PanoFCN checkpoint (.pth or .pkl)')
    parser.add_argument('dst', help='output mmvps checkpoint (.pth)')
    return parser.parse_args(argv)


def main(argv: List[str] = None) -> None:
    args = parse_args(argv)
    state_dict = load_detectron2_checkpoint(args.src)
    converted, info = convert_panopticfcn(state_dict, source=args.src)
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=converted, meta=dict(source=args.src, **info)), args.dst)
    print(f'{args.src} -> {args.dst}: {len(converted)} tensors; {info}')


if __name__ == '__main__':
    main()

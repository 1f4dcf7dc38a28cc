"""Convert a released VPSNet checkpoint (mcahny/vps: mmdet v1 layout; Cityscapes / VIPER Fuse,
Track, FuseTrack) into mmvps keys.

The result is an mmengine checkpoint ``{'state_dict': ..., 'meta': ...}`` that loads strictly
into mmvps ``VPSNet`` built with the matching config: ``backbone.`` / ``neck.`` / ``rpn_head.``
(same names in mmdet v1 and 3), ``roi_head.bbox_head.`` / ``roi_head.mask_head.`` (mmdet v1's
background class 0 moved last in ``fc_cls``, dropped from the class-specific ``fc_reg`` and from
``conv_logits``), ``semantic_head.`` (``UPSNetSemanticHead``; the official head predicts stuff
first, mmvps things first: the rows of the last conv are permuted), ``track_head.``
(``VPSNetTrackHead``), ``extra_neck.`` (``FlowAlignAttendFusion``: ``BFPTcea``'s refinement
``liteflownet`` -> ``flow_refiner``, its attention ``tcea_fusion`` -> ``fusion``) and, when the
checkpoint carries FlowNet2 (``flownet2.``), ``extra_neck.flow_estimator.`` (``FlowNet2Torch``,
the same parameter names). ``--flownet2 FlowNet2_checkpoint.pth.tar`` adds NVIDIA's FlowNet2
weights to a checkpoint without them. A key of no known place stops the conversion, naming it.

Usage: python tools/model_converters/vpsnet_to_mmvps.py IN.pth OUT.pth [--flownet2 FLOWNET2]
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from model_converter_utils import add_num_batches_tracked, save_converted  # noqa: E402

BN_STATS = r'(weight|bias|running_mean|running_var|num_batches_tracked)'
# keys that keep their name: mmdet v1 and mmdet 3 ResNet / FPN / RPNHead agree
SAME = re.compile(
    r'^backbone\.(conv1\.weight|bn1\.' + BN_STATS + r'|layer\d\.\d+\.(conv\d\.weight|bn\d\.' +
    BN_STATS + r'|downsample\.0\.weight|downsample\.1\.' + BN_STATS + r'))$'
    r'|^neck\.(lateral|fpn)_convs\.\d+\.conv\.(weight|bias)$'
    r'|^rpn_head\.rpn_(conv|cls|reg)\.(weight|bias)$'
    r'|^track_head\.fcs\.\d+\.(weight|bias)$'
    r'|^extra_neck\.refine\.conv\.(weight|bias)$')
# (pattern, replacement) for the renamed parts
RULES = [
    (r'^bbox_head\.(shared_fcs\.\d+|fc_cls|fc_reg)\.(weight|bias)$', r'roi_head.bbox_head.\1.\2'),
    (r'^mask_head\.(convs\.\d+\.conv|upsample|conv_logits)\.(weight|bias)$',
     r'roi_head.mask_head.\1.\2'),
    (r'^panopticFPN\.deform_convs\.0\.(\d+)\.conv_offset\.(weight|bias)$',
     lambda m: f'semantic_head.subnet.{int(m[1]) // 3}.offset.{m[2]}'),
    (r'^panopticFPN\.deform_convs\.0\.(\d+)\.conv\.weight$',
     lambda m: f'semantic_head.subnet.{int(m[1]) // 3}.conv.weight'),
    (r'^panopticFPN\.deform_convs\.0\.(\d+)\.(weight|bias)$',  # GroupNorm after each DCN
     lambda m: f'semantic_head.subnet.{int(m[1]) // 3}.norm.{m[2]}'),
    (r'^panopticFPN\.conv_pred\.conv\.(weight|bias)$', r'semantic_head.conv_logits.\1'),
    (r'^extra_neck\.liteflownet\.flow_estimator\.convs\.(\d)\.0\.(weight|bias)$',
     r'extra_neck.flow_refiner.convs.\1.conv.\2'),
    (r'^extra_neck\.liteflownet\.flow_estimator\.convs\.(\d)\.(weight|bias)$',
     r'extra_neck.flow_refiner.convs.\1.\2'),
    (r'^extra_neck\.tcea_fusion\.(tAtt_1|tAtt_2|fea_fusion|sAtt_\d|sAtt_add_\d)\.(weight|bias)$',
     lambda m: 'extra_neck.fusion.' + {
         'tAtt_1': 'temporal_key', 'tAtt_2': 'temporal_query', 'fea_fusion': 'fusion'
     }.get(m[1], m[1].replace('sAtt', 'spatial')) + '.' + m[2]),
    (r'^flownet2\.', 'extra_neck.flow_estimator.'),
]
FLOWNET2 = re.compile(r'^(flownetc|flownets_1|flownets_2|flownets_d|flownetfusion)\.'
                      r'[a-z_0-9]+(\.0)?\.(weight|bias)$')


def _rename(key: str) -> Optional[str]:
    if SAME.match(key):
        return key
    for pattern, repl in RULES:
        if re.search(pattern, key):
            new = re.sub(pattern, repl, key)
            if new.startswith('extra_neck.flow_estimator.') and not FLOWNET2.match(
                    new[len('extra_neck.flow_estimator.'):]):
                return None
            return new
    return None


def convert_vpsnet(state_dict: Dict[str, torch.Tensor],
                   source: str = 'checkpoint') -> Tuple[Dict[str, torch.Tensor], dict]:
    """Convert a released VPSNet state dict. Returns ``(state_dict, info)``; ``info`` has
    ``num_things``, ``num_stuff``, ``fusion``, ``track``, ``flownet2``. Raises ``ValueError``
    naming ``source`` and the keys that have no place in mmvps."""
    if 'panopticFPN.conv_pred.conv.weight' not in state_dict or \
            'bbox_head.fc_cls.weight' not in state_dict:
        raise ValueError(f'{source}: not a VPSNet (mcahny/vps) checkpoint: no '
                         f'"panopticFPN.conv_pred.conv.weight" / "bbox_head.fc_cls.weight"; '
                         f'first keys: {list(state_dict)[:5]}')
    converted, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        new = _rename(key)
        if new is None:
            unknown.append(key)
        else:
            converted[new] = value
    if unknown:
        raise ValueError(f'{source}: {len(unknown)} keys of no known VPSNet layout, e.g. '
                         f'{unknown[:10]}')
    # mmdet v1 puts the background class first; mmdet 3 last (fc_cls) or nowhere
    fc_cls = 'roi_head.bbox_head.fc_cls.'
    num_things = converted[fc_cls + 'weight'].shape[0] - 1
    order = torch.tensor(list(range(1, num_things + 1)) + [0])
    for name in ('weight', 'bias'):
        converted[fc_cls + name] = converted[fc_cls + name].index_select(0, order)
        fc_reg = f'roi_head.bbox_head.fc_reg.{name}'
        if fc_reg in converted:
            if converted[fc_reg].shape[0] != 4 * (num_things + 1):
                raise ValueError(f'{source}: bbox_head.fc_reg.{name} has '
                                 f'{converted[fc_reg].shape[0]} rows, expected class-specific '
                                 f'4 x {num_things + 1}')
            converted[fc_reg] = converted[fc_reg][4:]
        logits = f'roi_head.mask_head.conv_logits.{name}'
        if logits in converted:
            converted[logits] = converted[logits][1:]
    # semantic classes: official stuff first, mmvps things first
    num_classes = converted['semantic_head.conv_logits.weight'].shape[0]
    num_stuff = num_classes - num_things
    order = torch.tensor([num_stuff + k for k in range(num_things)] + list(range(num_stuff)))
    for name in ('weight', 'bias'):
        key = f'semantic_head.conv_logits.{name}'
        if key in converted:
            converted[key] = converted[key].index_select(0, order)
    add_num_batches_tracked(converted)
    info = dict(num_things=num_things, num_stuff=num_stuff,
                fusion=any(k.startswith('extra_neck.fusion.') for k in converted),
                track=any(k.startswith('track_head.') for k in converted),
                flownet2=any(k.startswith('extra_neck.flow_estimator.') for k in converted))
    return converted, info


def add_flownet2(converted: Dict[str, torch.Tensor], flownet2: Dict[str, torch.Tensor],
                 source: str) -> None:
    """Put a flownet2-pytorch ``FlowNet2`` state dict under ``extra_neck.flow_estimator.``."""
    bad = [k for k in flownet2 if not FLOWNET2.match(k)]
    if bad or not flownet2:
        raise ValueError(f'{source}: not a FlowNet2 state dict; keys of no FlowNet2 layout: '
                         f'{bad[:10]}')
    if not any(k.startswith('extra_neck.fusion.') for k in converted):
        raise ValueError(f'{source}: the VPSNet checkpoint has no fusion neck to hold FlowNet2')
    for key, value in flownet2.items():
        converted['extra_neck.flow_estimator.' + key] = value


def load_state_dict(path: str, what: str) -> Dict[str, torch.Tensor]:
    if not Path(path).is_file():
        raise FileNotFoundError(f'{path}: no such {what} file')
    # released mmdet v1 / flownet2-pytorch files carry meta / optimizer objects: not weights-only
    obj = torch.load(path, map_location='cpu', weights_only=False)
    state = obj.get('state_dict', obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f'{path}: expected a {what} with a "state_dict" of tensors, got '
                         f'{type(obj)}')
    return state


def parse_args(argv: List[str] = None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='released VPSNet checkpoint (mcahny/vps)')
    parser.add_argument('dst', help='output mmvps checkpoint (.pth)')
    parser.add_argument('--flownet2', help='FlowNet2_checkpoint.pth.tar (flownet2-pytorch) to '
                        'store as the fusion neck\'s FlowNet2Torch weights')
    return parser.parse_args(argv)


def main(argv: List[str] = None) -> None:
    args = parse_args(argv)
    converted, info = convert_vpsnet(load_state_dict(args.src, 'VPSNet checkpoint'), args.src)
    if args.flownet2:
        if info['flownet2']:
            raise ValueError(f'{args.src} already holds FlowNet2 weights; drop --flownet2')
        add_flownet2(converted, load_state_dict(args.flownet2, 'FlowNet2 checkpoint'),
                     args.flownet2)
        info['flownet2'] = True
    save_converted(converted, info, args.src, args.dst)


if __name__ == '__main__':
    main()

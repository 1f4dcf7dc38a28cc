"""Convert an official Video K-Net or K-Net checkpoint (github.com/lxtGH/Video-K-Net) to mmvps.

    python tools/model_converters/video_knet_official_to_mmvps.py IN.pth OUT.pth [--config CFG]

Video K-Net checkpoints (``VideoKNetQuansiEmbedFCJointTrain``) become ``VideoKNet`` state dicts
(``detector.*``, ``kernel_linking.*``, ``track_head.*``); image K-Net checkpoints become ``KNet``
state dicts. The result loads with ``strict=True`` into the official-equivalent configs
(``configs/_base_/models/video_knet_r50_official.py`` / ``knet_r50_fpn_official.py`` with the
dataset's class numbers); ``--config`` checks that by building the config's model and loading the
converted weights strictly. A checkpoint that is not an official K-Net / Video K-Net one, or holds
a key this table does not know, is refused with the offending keys.

Renaming (docs: ``configs/video_knet/README.md``):

* ``backbone.*`` -> ``[detector.]backbone.*`` (original Swin naming is converted to mmdet's);
* ``neck.*`` -> ``[detector.]neck.0.*`` (FPN);
* ``rpn_head.localization_fpn.convs_all_levels.{l}.conv{j}`` -> ``neck.1.level_convs.{l}.conv.{j}``,
  ``conv_pred`` and ``aux_convs`` keep their names under ``neck.1``;
* ``rpn_head.{loc,seg}_convs``, ``rpn_head.conv_seg`` -> ``kernel_head.*``;
  ``rpn_head.init_kernels`` -> ``kernel_head.thing_kernels``;
* ``roi_head.mask_head.{s}.*`` -> ``kernel_iter_head.mask_head.{s}.*`` with
  ``kernel_update_conv.{dynamic_layer, input_layer, update_gate, input_gate, norm_in,
  input_norm_in, norm_out, input_norm_out}`` -> ``kernel_updator.{feature_layer, kernel_layer,
  feature_gate, kernel_gate, feature_gate_norm, kernel_gate_norm, feature_out_norm,
  kernel_out_norm}``;
* the last stage's linking (``attention_previous``, ``attention_previous_norm``, ``link_ffn``,
  ``link_ffn_norm``) -> ``kernel_linking.{attention, attention_norm, ffn, ffn_norm}``; the
  unused copies in the other stages are dropped;
* Swin's ``update`` link (``*_track``) -> ``kernel_linking.*`` with its ``kernel_updator`` and
  the ``update_dynamic_cov`` fusion (``*_link``) -> ``kernel_iter_head.kernel_fusion.*``;
* ``embed_fcs``, ``fc_embed`` -> ``track_head.embed_fcs``, ``track_head.fc_embed``;
  ``track_head.fcs``, ``track_head.fc_embed`` -> ``track_head.fcs``, ``track_head.fc_out``.
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

UPDATOR_NAMES = {
    'dynamic_layer': 'feature_layer',
    'input_layer': 'kernel_layer',
    'update_gate': 'feature_gate',
    'input_gate': 'kernel_gate',
    'norm_in': 'feature_gate_norm',
    'input_norm_in': 'kernel_gate_norm',
    'norm_out': 'feature_out_norm',
    'input_norm_out': 'kernel_out_norm',
    'fc_layer': 'fc_layer',
    'fc_norm': 'fc_norm',
}
STAGE_SAME = ('attention', 'attention_norm', 'feat_transform', 'ffn', 'ffn_norm', 'cls_fcs',
              'fc_cls', 'mask_fcs', 'fc_mask')
# last-stage linking / fusion modules: official name -> (mmvps module, mmvps name)
LINK_NAMES = {
    'attention_previous': ('kernel_linking', 'attention'),
    'attention_previous_norm': ('kernel_linking', 'attention_norm'),
    'link_ffn': ('kernel_linking', 'ffn'),
    'link_ffn_norm': ('kernel_linking', 'ffn_norm'),
    'attention_previous_update_track': ('kernel_linking', 'kernel_updator'),
    'attention_previous_track': ('kernel_linking', 'attention'),
    'attention_previous_norm_track': ('kernel_linking', 'attention_norm'),
    'link_ffn_track': ('kernel_linking', 'ffn'),
    'link_ffn_norm_track': ('kernel_linking', 'ffn_norm'),
    'attention_previous_update_link': ('kernel_fusion', 'kernel_updator'),
    'attention_previous_link': ('kernel_fusion', 'attention'),
    'attention_previous_norm_link': ('kernel_fusion', 'attention_norm'),
    'link_ffn_link': ('kernel_fusion', 'ffn'),
    'link_ffn_norm_link': ('kernel_fusion', 'ffn_norm'),
}


class UnknownCheckpointError(ValueError):
    """The input is not an official K-Net / Video K-Net checkpoint this converter knows."""


def _updator_key(rest: str) -> str:
    name, _, tail = rest.partition('.')
    if name not in UPDATOR_NAMES:
        raise KeyError(name)
    return f'{UPDATOR_NAMES[name]}.{tail}'


def convert_swin_backbone(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Original Swin keys (``patch_embed.proj``, ``layers.i.blocks.j.attn.qkv``, ...) -> mmdet
    ``SwinTransformer`` keys, with mmdet's own converter (it also reorders the patch-merging
    weights)."""
    from mmdet.models.backbones.swin import swin_converter
    # mmdet's converter prefixes every key with 'backbone.'
    return OrderedDict((k[len('backbone.'):], v) for k, v in swin_converter(state).items())


def convert_state_dict(state: Dict[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], str]:
    """Official state dict -> ``(mmvps state dict, 'video' | 'image')``.

    Raises:
        UnknownCheckpointError: not a K-Net / Video K-Net checkpoint, an unsupported variant,
            or keys without a counterpart.
    """
    state = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                        for k, v in state.items())
    if 'rpn_head.init_kernels.weight' not in state or \
            not any(k.startswith('roi_head.mask_head.') for k in state):
        raise UnknownCheckpointError(
            'not an official K-Net / Video K-Net checkpoint: it has no '
            'rpn_head.init_kernels.weight or no roi_head.mask_head.* keys')
    if state['rpn_head.init_kernels.weight'].shape[-2:] != (1, 1):
        raise UnknownCheckpointError('only 1x1 kernels (conv_kernel_size=1) are supported, got '
                                     f"{tuple(state['rpn_head.init_kernels.weight'].shape)}")
    if 'rpn_head.conv_seg.weight' not in state:
        raise UnknownCheckpointError('the checkpoint has no rpn_head.conv_seg (semantic head): '
                                     'only panoptic K-Net / Video K-Net checkpoints are supported')
    video = any(k.startswith(('embed_fcs.', 'track_head.')) for k in state)
    prefix = 'detector.' if video else ''
    stages = sorted({int(k.split('.')[2]) for k in state if k.startswith('roi_head.mask_head.')})
    last = stages[-1]

    out, backbone, unknown = OrderedDict(), OrderedDict(), []
    for key, value in state.items():
        try:
            new = _convert_key(key, prefix, last, video)
        except KeyError:
            unknown.append(key)
            continue
        if new is None:
            continue
        if new == '<backbone>':
            backbone[key[len('backbone.'):]] = value
        else:
            out[new] = value
    if unknown:
        raise UnknownCheckpointError(f'{len(unknown)} keys have no mmvps counterpart: '
                                     f'{unknown[:20]}')
    if any(k.startswith('layers.') or k.startswith('patch_embed.proj') for k in backbone):
        backbone = convert_swin_backbone(backbone)
    for key, value in backbone.items():
        out[f'{prefix}backbone.{key}'] = value
    return out, 'video' if video else 'image'


def _convert_key(key: str, prefix: str, last: int, video: bool):
    """One official key -> its mmvps key, None to drop it, ``'<backbone>'`` for the backbone."""
    if key.startswith('backbone.'):
        return '<backbone>'
    if key.startswith('neck.'):
        return f'{prefix}neck.0.{key[len("neck."):]}'
    match = re.fullmatch(r'rpn_head\.localization_fpn\.convs_all_levels\.(\d+)\.conv(\d+)\.(.+)',
                         key)
    if match:
        level, conv, rest = match.groups()
        return f'{prefix}neck.1.level_convs.{level}.conv.{conv}.{rest}'
    match = re.fullmatch(r'rpn_head\.localization_fpn\.((conv_pred|aux_convs\.0)\..+)', key)
    if match:
        return f'{prefix}neck.1.{match.group(1)}'
    match = re.fullmatch(r'rpn_head\.((loc_convs|seg_convs)\.\d+\..+|conv_seg\.(weight|bias))',
                         key)
    if match:
        return f'{prefix}kernel_head.{match.group(1)}'
    if key == 'rpn_head.init_kernels.weight':
        return f'{prefix}kernel_head.thing_kernels.weight'
    match = re.fullmatch(r'roi_head\.mask_head\.(\d+)\.([a-z_]+)\.(.+)', key)
    if match:
        stage, module, rest = int(match.group(1)), match.group(2), match.group(3)
        head = f'{prefix}kernel_iter_head.mask_head.{stage}'
        if module in STAGE_SAME:
            return f'{head}.{module}.{rest}'
        if module == 'kernel_update_conv':
            return f'{head}.kernel_updator.{_updator_key(rest)}'
        if module in LINK_NAMES and video:
            if stage != last:
                return None  # built in every stage by the official code, used in the last only
            target, name = LINK_NAMES[module]
            if name == 'kernel_updator':
                rest = _updator_key(rest)
            if target == 'kernel_fusion':
                return f'{prefix}kernel_iter_head.kernel_fusion.{name}.{rest}'
            return f'kernel_linking.{name}.{rest}'
        raise KeyError(key)
    if video:
        match = re.fullmatch(r'(embed_fcs\.\d+|fc_embed)\.(weight|bias)', key)
        if match:
            return f'track_head.{key}'
        match = re.fullmatch(r'track_head\.(fcs\.\d+|fc_embed)\.(weight|bias)', key)
        if match:
            name = 'fc_out' if match.group(1) == 'fc_embed' else match.group(1)
            return f'track_head.{name}.{match.group(2)}'
    raise KeyError(key)


def load_official_checkpoint(path: str) -> Dict[str, torch.Tensor]:
    """The state dict of an official checkpoint file (mmcv 1.x ``{'state_dict': ...}``)."""
    checkpoint = torch.load(path, map_location='cpu', weights_only=False)
    if not isinstance(checkpoint, dict):
        raise UnknownCheckpointError(f'{path}: not a checkpoint dict ({type(checkpoint)})')
    state = checkpoint.get('state_dict', checkpoint.get('model', checkpoint))
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UnknownCheckpointError(f'{path}: no state dict of tensors found')
    return state


def check_strict_load(state: Dict[str, torch.Tensor], config: str) -> List[str]:
    """Build ``config``'s model and load ``state`` strictly (raises on any mismatch)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmvps.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmvps'))
    model = MODELS.build(cfg.model)
    model.load_state_dict(state, strict=True)
    return list(state)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='output mmvps checkpoint (.pth)')
    parser.add_argument('--config', help='mmvps config whose model must load the result strictly')
    args = parser.parse_args()
    try:
        state, kind = convert_state_dict(load_official_checkpoint(args.src))
    except UnknownCheckpointError as err:
        raise SystemExit(f'{args.src}: refused: {err}')
    if args.config:
        check_strict_load(state, args.config)
    torch.save(dict(state_dict=state, meta=dict(converted_from=args.src, kind=kind)), args.dst)
    print(f'{args.src} ({kind} checkpoint, {len(state)} tensors) -> {args.dst}')


if __name__ == '__main__':
    main()

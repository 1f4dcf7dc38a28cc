"""ConvNeXt (Liu et al., 2022) with the state-dict layout of mmpretrain's ``ConvNeXt``.

mmpretrain cannot be imported here (it pulls torchvision), so the backbone is written in mmvps.
``convert_convnext_state_dict`` maps the other public layouts (the original facebookresearch /
kMaX-DeepLab one, timm's) onto these keys.
"""
import re
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule, ModuleList
from torch import Tensor, nn

from mmvps.models.layers import LayerNorm2d
from mmvps.registry import MODELS


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7 conv -> LayerNorm -> Linear (4x) -> GELU -> Linear -> layer scale
    ``gamma`` -> drop-path -> residual (the linears run channels-last)."""

    def __init__(self, channels: int, drop_path: float = 0.0,
                 layer_scale_init_value: float = 1e-6) -> None:
        super().__init__()
        self.depthwise_conv = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.pointwise_conv1 = nn.Linear(channels, 4 * channels)
        self.act = nn.GELU()
        self.pointwise_conv2 = nn.Linear(4 * channels, channels)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(channels)) \
            if layer_scale_init_value > 0 else None
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.depthwise_conv(x).permute(0, 2, 3, 1)
        x = self.pointwise_conv2(self.act(self.pointwise_conv1(self.norm(x))))
        if self.gamma is not None:
            x = self.gamma * x
        return shortcut + self.drop_path(x.permute(0, 3, 1, 2))


@MODELS.register_module()
class ConvNeXt(BaseModule):
    """ConvNeXt backbone returning the stage outputs (OS4, OS8, OS16, OS32).

    Keys: ``downsample_layers.{i}.{0,1}`` (stem conv 4x4/4 + channels-first LN; then LN +
    conv 2x2/2), ``stages.{i}.{j}.{depthwise_conv,norm,pointwise_conv1,pointwise_conv2,gamma}``
    (mmpretrain's layout; load mmpretrain checkpoints directly, others through
    ``convert_convnext_state_dict``). No output norms (kMaX's pixel decoder LayerNorms its
    inputs itself); classifier keys of ImageNet checkpoints are unused.

    Args:
        arch: ``'tiny' | 'small' | 'base' | 'large' | 'xlarge'`` or ``dict(depths, channels)``.
        in_channels: image channels.
        drop_path_rate: stochastic depth, linearly increasing over all blocks up to this value.
        layer_scale_init_value: initial ``gamma`` (0 disables layer scale).
        out_indices: stages whose outputs are returned.
        deeplab2_padding: zero-pad the input by (1, 2) before the stem and by (0, 1) before each
            downsampling, as DeepLab2 / kMaX-DeepLab's ConvNeXt does for its 32k+1 input sizes;
            use it with kMaX-DeepLab ConvNeXt checkpoints (on 32k inputs it only shifts the
            stem by one pixel).
        init_cfg: mmengine init config; by default mmpretrain's (truncated normal std 0.02 for
            convs and linears, zero biases), or e.g. ``Pretrained``.
    """

    arch_settings = {
        'tiny': ((3, 3, 9, 3), (96, 192, 384, 768)),
        'small': ((3, 3, 27, 3), (96, 192, 384, 768)),
        'base': ((3, 3, 27, 3), (128, 256, 512, 1024)),
        'large': ((3, 3, 27, 3), (192, 384, 768, 1536)),
        'xlarge': ((3, 3, 27, 3), (256, 512, 1024, 2048)),
    }

    def __init__(self,
                 arch='large',
                 in_channels: int = 3,
                 drop_path_rate: float = 0.0,
                 layer_scale_init_value: float = 1e-6,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 deeplab2_padding: bool = False,
                 init_cfg: Optional[dict] = dict(type='TruncNormal', layer=['Conv2d', 'Linear'],
                                                 std=.02, bias=0.)) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_settings:
                raise ValueError(f'ConvNeXt: unknown arch {arch!r}, choose from '
                                 f'{sorted(self.arch_settings)} or pass dict(depths, channels)')
            depths, channels = self.arch_settings[arch]
        else:
            depths, channels = arch['depths'], arch['channels']
        if len(depths) != 4 or len(channels) != 4:
            raise ValueError(f'ConvNeXt: depths and channels need 4 stages, got {depths}, '
                             f'{channels}')
        if not set(out_indices) <= {0, 1, 2, 3}:
            raise ValueError(f'ConvNeXt: out_indices must be in 0..3, got {out_indices}')
        self.channels = tuple(channels)
        self.out_indices = tuple(out_indices)
        self.deeplab2_padding = deeplab2_padding
        self.downsample_layers = ModuleList([
            nn.Sequential(nn.Conv2d(in_channels, channels[0], 4, stride=4),
                          LayerNorm2d(channels[0]))
        ] + [
            nn.Sequential(LayerNorm2d(channels[i - 1]),
                          nn.Conv2d(channels[i - 1], channels[i], 2, stride=2))
            for i in range(1, 4)
        ])
        total = sum(depths)
        rates = [drop_path_rate * i / max(total - 1, 1) for i in range(total)]
        self.stages = ModuleList()
        for i, depth in enumerate(depths):
            start = sum(depths[:i])
            self.stages.append(nn.Sequential(*[
                ConvNeXtBlock(channels[i], rates[start + j], layer_scale_init_value)
                for j in range(depth)
            ]))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        for i in range(4):
            if self.deeplab2_padding:
                x = F.pad(x, (1, 2, 1, 2) if i == 0 else (0, 1, 0, 1))
            x = self.stages[i](self.downsample_layers[i](x))
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


_TIMM_RULES = [
    (r'^stem\.([01])\.', r'downsample_layers.0.\1.'),
    (r'^stages\.(\d+)\.downsample\.([01])\.', r'downsample_layers.\1.\2.'),
    (r'^stages\.(\d+)\.blocks\.(\d+)\.conv_dw\.', r'stages.\1.\2.depthwise_conv.'),
    (r'^stages\.(\d+)\.blocks\.(\d+)\.mlp\.fc1\.', r'stages.\1.\2.pointwise_conv1.'),
    (r'^stages\.(\d+)\.blocks\.(\d+)\.mlp\.fc2\.', r'stages.\1.\2.pointwise_conv2.'),
    (r'^stages\.(\d+)\.blocks\.(\d+)\.', r'stages.\1.\2.'),
]
_FACEBOOK_RULES = [
    (r'^(stages\.\d+\.\d+)\.dwconv\.', r'\1.depthwise_conv.'),
    (r'^(stages\.\d+\.\d+)\.pwconv1\.', r'\1.pointwise_conv1.'),
    (r'^(stages\.\d+\.\d+)\.pwconv2\.', r'\1.pointwise_conv2.'),
]
_CLASSIFIER = re.compile(r'^(head\.|norm\.|norm\d\.|norm_pre\.|fc\.)')
_MMVPS_KEY = re.compile(r'^(downsample_layers\.\d\.[01]\.(weight|bias)|stages\.\d+\.\d+\.'
                        r'(depthwise_conv|norm|pointwise_conv1|pointwise_conv2)\.(weight|bias)|'
                        r'stages\.\d+\.\d+\.gamma)$')


def convert_convnext_state_dict(state_dict: Dict[str, Tensor],
                                source: str = 'checkpoint') -> Dict[str, Tensor]:
    """Map a ConvNeXt backbone state dict in the facebookresearch / kMaX-DeepLab
    (``dwconv``/``pwconv1``), timm (``stem``, ``stages.i.blocks.j.conv_dw``, ``mlp.fc1``) or
    mmpretrain layout onto ``ConvNeXt``'s keys; classifier-only keys (``head``, final ``norm``)
    are dropped. Raises ``KeyError`` naming ``source`` and the keys it cannot place."""
    converted, unknown = {}, []
    for key, value in state_dict.items():
        if _CLASSIFIER.match(key):
            continue
        new_key = key
        for pattern, repl in _TIMM_RULES + _FACEBOOK_RULES:
            new_key = re.sub(pattern, repl, new_key)
        if _MMVPS_KEY.match(new_key):
            converted[new_key] = value
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(f'{source}: {len(unknown)} ConvNeXt keys of no known layout, e.g. '
                       f'{unknown[:10]}')
    return converted

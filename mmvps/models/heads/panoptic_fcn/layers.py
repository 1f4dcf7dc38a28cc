"""Building blocks of PanopticFCN (Li et al., CVPR 2021) shared by its heads: coordinate
channels, the conv towers, the feature encoder, the position head, the kernel head and the
kernel projections (spec ``clip_panofcn.md`` section 2)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, ModuleList, normal_init
from torch import Tensor

from mmvps.registry import MODELS


def add_coord_channels(x: Tensor) -> Tensor:
    """Append two coordinate channels to ``x`` [B, C, H, W]: a ramp -1..1 down the rows, then a
    ramp -1..1 along the columns (CoordConv; PanopticFCN's kernel head and encoder need to know
    where a kernel sits to tell instances apart)."""
    b, _, h, w = x.shape
    rows = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype)
    cols = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype)
    grid_r, grid_c = torch.meshgrid(rows, cols, indexing='ij')
    coords = torch.stack([grid_r, grid_c]).unsqueeze(0).expand(b, -1, -1, -1)
    return torch.cat([x, coords], dim=1)


class ConvTower(BaseModule):
    """``num_convs`` 3x3 conv + norm + ReLU modules, with optional coordinate channels on the
    input and modulated deformable convs (mmcv ``DCNv2``, offsets and masks from one conv as in
    PanopticFCN's ``ModulatedDeformConvWithOff``). State-dict keys ``convs.{i}.conv.*``."""

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 num_convs: int,
                 coord: bool = False,
                 deform: bool = False,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_convs < 1:
            raise ValueError(f'ConvTower: num_convs must be >= 1, got {num_convs}')
        self.coord = coord
        conv_cfg = dict(type='DCNv2', deform_groups=1) if deform else None
        self.convs = ModuleList([
            ConvModule(
                (in_channels + 2 * coord) if i == 0 else channels,
                channels,
                3,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=dict(type='ReLU', inplace=True)) for i in range(num_convs)
        ])

    def forward(self, x: Tensor) -> Tensor:
        if self.coord:
            x = add_coord_channels(x)
        for conv in self.convs:
            x = conv(x)
        return x


@MODELS.register_module()
class FeatureEncoder(ConvTower):
    """PanopticFCN's feature encoder: coordinate channels, then ``num_convs`` 3x3 conv + ReLU
    (no norm in the released configs) on the Semantic-FPN map: the high-resolution features F
    [B, channels, H/4, W/4] that every kernel is applied to. PanopticFCN* uses deformable
    convs and 256 channels here."""

    def __init__(self,
                 in_channels: int = 256,
                 channels: int = 64,
                 num_convs: int = 3,
                 coord: bool = True,
                 deform: bool = False,
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(in_channels, channels, num_convs, coord=coord, deform=deform,
                         norm_cfg=norm_cfg, init_cfg=init_cfg)


@MODELS.register_module()
class PositionHead(BaseModule):
    """Object centres and stuff regions (PanopticFCN's kernel generator, position branch): a
    conv tower (deformable in the released configs), then two 3x3 output convs, one heatmap per
    thing class and one region map per stuff channel (channel 0 = "any thing" when the stuff
    channels carry it). Output convs start as N(0, 0.01) with bias ``bias_value`` (-2.19, a
    prior of 0.1)."""

    def __init__(self,
                 num_things: int,
                 num_stuff_channels: int,
                 in_channels: int = 256,
                 channels: int = 256,
                 num_convs: int = 3,
                 coord: bool = False,
                 deform: bool = False,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 bias_value: float = -2.19,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.bias_value = bias_value
        self.tower = ConvTower(in_channels, channels, num_convs, coord=coord, deform=deform,
                               norm_cfg=norm_cfg)
        self.center_conv = nn.Conv2d(channels, num_things, 3, padding=1)
        self.region_conv = nn.Conv2d(channels, num_stuff_channels, 3, padding=1)

    def init_weights(self) -> None:
        super().init_weights()
        for conv in (self.center_conv, self.region_conv):
            normal_init(conv, std=0.01, bias=self.bias_value)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Returns the centre logits [B, num_things, h, w] and region logits
        [B, num_stuff_channels, h, w] of one level."""
        x = self.tower(x)
        return self.center_conv(x), self.region_conv(x)


@MODELS.register_module()
class KernelHead(BaseModule):
    """PanopticFCN's kernel-weight branch: coordinate channels, a conv tower and a 3x3 output
    conv (N(0, 0.01), bias 0, no activation) giving a ``channels``-d kernel weight at every
    position of a level."""

    def __init__(self,
                 in_channels: int = 256,
                 channels: int = 256,
                 num_convs: int = 3,
                 coord: bool = True,
                 deform: bool = False,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.tower = ConvTower(in_channels, channels, num_convs, coord=coord, deform=deform,
                               norm_cfg=norm_cfg)
        self.out_conv = nn.Conv2d(channels, channels, 3, padding=1)

    def init_weights(self) -> None:
        super().init_weights()
        normal_init(self.out_conv, std=0.01, bias=0)

    def forward(self, x: Tensor) -> Tensor:
        return self.out_conv(self.tower(x))


@MODELS.register_module()
class KernelProjector(BaseModule):
    """1x1 projection of gathered kernel weights to the encoder's channels (PanopticFCN's
    ``embed_extractor``; one for things, one for stuff): [..., in_channels] -> [..., out_channels].
    Kept as a 1x1 conv so its weight has the reference's shape."""

    def __init__(self, in_channels: int = 256, out_channels: int = 64,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def init_weights(self) -> None:
        super().init_weights()
        normal_init(self.conv, std=0.01, bias=0)

    def forward(self, kernels: Tensor) -> Tensor:
        return F.linear(kernels, self.conv.weight.flatten(1), self.conv.bias)


__all__ = ['add_coord_channels', 'ConvTower', 'FeatureEncoder', 'PositionHead', 'KernelHead',
           'KernelProjector']

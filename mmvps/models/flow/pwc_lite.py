"""A small learnable PWC-style flow network: needs no external weights."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.models.ops import flow_warp, local_correlation
from mmvps.registry import MODELS

from .utils import resize_flow


@MODELS.register_module()
class PWCLiteFlow(BaseModule):
    """Coarse-to-fine flow from a shared conv pyramid, warping and local correlation.

    The pyramid has one level per entry of ``channels`` (each: 3x3 stride-2 conv + 3x3 conv,
    LeakyReLU 0.1), so level ``i`` has stride ``2^(i+1)``. Starting at the coarsest level, each
    level warps the reference features with the coarser flow (resized, values scaled to the
    level), correlates them with the key features (``max_displacement``), and a small conv head
    on ``[corr, key features, flow]`` adds a residual flow. The output is at level
    ``out_level`` (default the stride-4 level, VPSNet's P2 grid), in pixels of that grid.

    The last conv of every head starts at zero, so an untrained net gives zero flow (the
    ``ZeroFlow`` setting) and learns from the task losses. Not comparable to FlowNet2's numbers.
    """

    def __init__(self,
                 in_channels: int = 3,
                 channels: Sequence[int] = (16, 32, 64),
                 max_displacement: int = 4,
                 head_channels: Sequence[int] = (32, 32),
                 out_level: int = 1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not 0 <= out_level < len(channels):
            raise ValueError(f'PWCLiteFlow: out_level={out_level} is not a level of '
                             f'channels={tuple(channels)}')
        self.max_displacement = max_displacement
        self.out_level = out_level
        act = dict(type='LeakyReLU', negative_slope=0.1)
        self.encoder = nn.ModuleList()
        prev = in_channels
        for ch in channels:
            self.encoder.append(nn.Sequential(
                ConvModule(prev, ch, 3, stride=2, padding=1, act_cfg=act),
                ConvModule(ch, ch, 3, padding=1, act_cfg=act)))
            prev = ch
        corr_channels = (2 * max_displacement + 1)**2
        self.heads = nn.ModuleList()
        for level in range(out_level, len(channels)):
            layers, prev = [], corr_channels + channels[level] + 2
            for ch in head_channels:
                layers.append(ConvModule(prev, ch, 3, padding=1, act_cfg=act))
                prev = ch
            layers.append(nn.Conv2d(prev, 2, 3, padding=1))
            self.heads.append(nn.Sequential(*layers))

    def init_weights(self) -> None:
        if self.is_init:  # e.g. loaded weights
            return
        super().init_weights()
        for head in self.heads:
            nn.init.zeros_(head[-1].weight)
            nn.init.zeros_(head[-1].bias)

    def forward(self, key_img: Tensor, ref_img: Tensor) -> Tensor:
        feats = []
        x = torch.cat([key_img, ref_img], dim=0)
        for stage in self.encoder:
            x = stage(x)
            feats.append(x.chunk(2, dim=0))
        flow = None
        for level in range(len(feats) - 1, self.out_level - 1, -1):
            key, ref = feats[level]
            if flow is None:
                flow = key.new_zeros(key.shape[0], 2, *key.shape[-2:])
            else:
                flow = resize_flow(flow, key.shape[-2:])
            warped = flow_warp(ref, flow)
            corr = F.leaky_relu(local_correlation(key, warped, self.max_displacement), 0.1)
            head = self.heads[level - self.out_level]
            flow = flow + head(torch.cat([corr, key, flow], dim=1))
        return flow

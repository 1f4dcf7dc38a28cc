"""Temporal + spatial attention fusion of VPSNet's Fuse module (the released code's EDVR-style
TSA, spec §2.1 step 4)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class TemporalSpatialAttentionFusion(BaseModule):
    """Fuse ``N`` aligned frames ``[B, N, C, H, W]`` into one ``[B, C, H, W]`` map.

    * temporal attention: every frame ``i`` is gated per pixel by
      ``sigmoid(sum_c temporal_key(F_i) * temporal_query(F_center))`` (the centre frame too);
    * fusion: ``h = LReLU(fusion(concat gated frames))`` (1x1, ``N*C -> C``);
    * spatial attention: ``a = LReLU(spatial_1(concat))``, max- and avg-pooled (3x3, stride 2)
      and concatenated, ``LReLU(spatial_2)`` (1x1), ``LReLU(spatial_3)`` (3x3), bilinear upsample
      to ``h``'s size, ``s = spatial_4`` (3x3); ``s_add = spatial_add_2(LReLU(spatial_add_1(s)))``;
      output ``h * sigmoid(s) * 2 + s_add``.

    ``temporal=False`` skips the gating and ``spatial=False`` returns ``h`` (VPSNet "Align only"
    fusion: 1x1 conv + LReLU). LeakyReLU slope 0.1, all convs with bias. The released code
    upsamples by x2, which equals upsampling to ``h``'s size for even sizes; odd sizes work here.
    """

    def __init__(self,
                 channels: int = 256,
                 num_frames: int = 2,
                 center: int = 0,
                 temporal: bool = True,
                 spatial: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not 0 <= center < num_frames:
            raise ValueError(f'TemporalSpatialAttentionFusion: center={center} is not a frame '
                             f'index of num_frames={num_frames}')
        self.channels = channels
        self.num_frames = num_frames
        self.center = center
        self.temporal = temporal
        self.spatial = spatial
        if temporal:
            self.temporal_key = nn.Conv2d(channels, channels, 3, padding=1)
            self.temporal_query = nn.Conv2d(channels, channels, 3, padding=1)
        self.fusion = nn.Conv2d(num_frames * channels, channels, 1)
        if spatial:
            self.spatial_1 = nn.Conv2d(num_frames * channels, channels, 1)
            self.spatial_2 = nn.Conv2d(2 * channels, channels, 1)
            self.spatial_3 = nn.Conv2d(channels, channels, 3, padding=1)
            self.spatial_4 = nn.Conv2d(channels, channels, 3, padding=1)
            self.spatial_add_1 = nn.Conv2d(channels, channels, 1)
            self.spatial_add_2 = nn.Conv2d(channels, channels, 1)
        self.lrelu = nn.LeakyReLU(0.1)

    def forward(self, frames: Tensor) -> Tensor:
        """``frames``: ``[B, N, C, H, W]`` with the key frame at index ``center``."""
        if frames.dim() != 5 or frames.shape[1:3] != (self.num_frames, self.channels):
            raise ValueError(f'TemporalSpatialAttentionFusion: expected [B, {self.num_frames}, '
                             f'{self.channels}, H, W], got {tuple(frames.shape)}')
        b, n, c, h, w = frames.shape
        if self.temporal:
            query = self.temporal_query(frames[:, self.center])
            keys = self.temporal_key(frames.flatten(0, 1)).view(b, n, c, h, w)
            gate = torch.sigmoid((keys * query.unsqueeze(1)).sum(dim=2, keepdim=True))
            frames = frames * gate
        stacked = frames.flatten(1, 2)
        fused = self.lrelu(self.fusion(stacked))
        if not self.spatial:
            return fused
        att = self.lrelu(self.spatial_1(stacked))
        att = torch.cat([F.max_pool2d(att, 3, stride=2, padding=1),
                         F.avg_pool2d(att, 3, stride=2, padding=1)], dim=1)
        att = self.lrelu(self.spatial_2(att))
        att = self.lrelu(self.spatial_3(att))
        att = F.interpolate(att, size=(h, w), mode='bilinear', align_corners=False)
        att = self.spatial_4(att)
        att_add = self.spatial_add_2(self.lrelu(self.spatial_add_1(att)))
        return fused * torch.sigmoid(att) * 2 + att_add

"""Clip-PanoFCN's learned clip feature fusion (spec clip_panofcn.md Sec. 3.6, the released
``ClipFuseHead``; off in the released config, ``USE_CLIPFUSE: False``)."""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, caffe2_xavier_init
from torch import Tensor, nn

from mmvps.registry import MODELS


@MODELS.register_module()
class ClipFeatureFusion(BaseModule):
    """ASPP context of the first head level, pooled over the frames of a clip and added to every
    head level.

    On the first level (P3): a 1x1 conv, one 3x3 conv per dilation and an "image pooling"
    branch (a 1x1 conv with bias; the released ``AvgPool2d(1)`` before it is an identity, not
    a global pooling, and is left out), ``channels`` each, ReLU, GN on all but the pooling
    branch. Their concatenation is averaged over the T frames of each clip (or, with
    ``temporal_weights``, summed with one learned weight per frame, initialised to 1/T: the
    released ``TEMPORAL_KERNAL``), broadcast back to every frame, resized to each level,
    concatenated to it and reduced to the level's channels by a 1x1 conv + GN + ReLU (one per
    level). Convs start with Caffe2 Xavier init (the released ``c2_xavier_fill``).

    Args:
        in_channels (int): channels of the head levels (256).
        channels (int): channels of each ASPP branch (in_channels // 4 = 64 released).
        num_levels (int): head levels fused (P3..P7: 5).
        dilations (Sequence[int]): ``MODEL.DILATIONS``. Defaults to (6, 12, 18).
        num_frames (int, optional): clip length T; gives the learned per-frame weights (then
            every clip must have exactly T frames).
        norm_cfg (dict): norm of the ASPP branches and projections. Defaults to GN(32).
    """

    def __init__(self,
                 in_channels: int = 256,
                 channels: int = 64,
                 num_levels: int = 5,
                 dilations: Sequence[int] = (6, 12, 18),
                 num_frames: Optional[int] = None,
                 norm_cfg: dict = dict(type='GN', num_groups=32, requires_grad=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_frames is not None and num_frames < 1:
            raise ValueError(f'ClipFeatureFusion: num_frames must be >= 1, got {num_frames}')
        act_cfg = dict(type='ReLU')
        self.branches = nn.ModuleList(
            [ConvModule(in_channels, channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)] + [
                ConvModule(in_channels, channels, 3, padding=d, dilation=d, norm_cfg=norm_cfg,
                           act_cfg=act_cfg) for d in dilations
            ] + [ConvModule(in_channels, channels, 1, bias=True, act_cfg=act_cfg)])
        fused_channels = channels * len(self.branches)
        self.projections = nn.ModuleList([
            ConvModule(fused_channels + in_channels, in_channels, 1, norm_cfg=norm_cfg,
                       act_cfg=act_cfg) for _ in range(num_levels)
        ])
        self.num_frames = num_frames
        self.frame_weights = nn.Parameter(torch.full((num_frames, ), 1.0 / num_frames)) \
            if num_frames is not None else None

    def init_weights(self) -> None:
        super().init_weights()
        for module in list(self.branches) + list(self.projections):
            caffe2_xavier_init(module.conv)

    def forward(self, feats: Sequence[Tensor], num_frames: int) -> List[Tensor]:
        """Fuse ``feats`` (the head levels of ``B = N * T`` frames, first = the ASPP input,
        frames of a clip consecutive); returns the new levels."""
        if len(feats) != len(self.projections):
            raise ValueError(f'ClipFeatureFusion: built for {len(self.projections)} levels, got '
                             f'{len(feats)}')
        batch = feats[0].shape[0]
        if num_frames < 1 or batch % num_frames:
            raise ValueError(f'ClipFeatureFusion: {batch} frames are not clips of {num_frames}')
        if self.frame_weights is not None and num_frames != self.num_frames:
            raise ValueError(f'ClipFeatureFusion: the learned frame weights need clips of '
                             f'{self.num_frames} frames, got {num_frames}')
        context = torch.cat([branch(feats[0]) for branch in self.branches], dim=1)
        context = context.reshape(batch // num_frames, num_frames, *context.shape[1:])
        if self.frame_weights is not None:
            context = (context * self.frame_weights[None, :, None, None, None]).sum(1)
        else:
            context = context.mean(1)
        context = context.repeat_interleave(num_frames, dim=0)
        return [
            projection(torch.cat([
                F.interpolate(context, size=feat.shape[-2:], mode='bilinear',
                              align_corners=False), feat
            ], dim=1)) for projection, feat in zip(self.projections, feats)
        ]

"""UPSNet's semantic head as VPSNet uses it (spec vpsnet.md §1.3)."""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, xavier_init
from torch import Tensor

from mmvps.registry import MODELS


class _DeformConvBlock(nn.Module):
    """3x3 deformable conv (its own plain 3x3 offset conv, no bias) + norm + ReLU; a plain 3x3
    conv when ``dcn_backend='none'`` (CPU / tiny configs)."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: dict,
                 dcn_backend: str) -> None:
        super().__init__()
        if dcn_backend == 'mmcv':
            from mmcv.ops import DeformConv2d
            self.offset = nn.Conv2d(in_channels, 18, 3, padding=1)
            self.conv = DeformConv2d(in_channels, out_channels, 3, padding=1, bias=False)
        else:
            self.offset = None
            self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x, self.offset(x)) if self.offset is not None else self.conv(x)
        return self.relu(self.norm(x))


@MODELS.register_module()
class UPSNetSemanticHead(BaseModule):
    """Semantic head of UPSNet / VPSNet: one subnet of deformable convs with GroupNorm, its
    weights shared by the FPN levels P2-P5; the P3-P5 outputs are upsampled to P2 (bilinear),
    concatenated with P2's and a 1x1 conv gives the class logits at stride 4 (``fcn_score``);
    bilinear x4 gives ``fcn_output`` at the input size.

    Channels follow mmvps' label order (things first, then stuff; the official head is stuff
    first, a permutation of the last conv's rows when porting weights).

    Args:
        num_classes (int): thing + stuff classes.
        in_channels (int): FPN channels. Defaults to 256.
        channels (Sequence[int]): output channels of the shared layers. Defaults to
            ``(256, 128, 128)`` (the released code; UPSNet uses two layers).
        num_levels (int): FPN levels read (P2 upwards). Defaults to 4.
        norm_cfg (dict): normalization. Defaults to GN with 32 groups.
        dcn_backend (str): ``'mmcv'`` (DCNv1 from mmcv.ops, CPU and CUDA) or ``'none'`` (plain
            3x3 convs).
        offset_init (str): ``'zero'`` (UPSNet; a deformable conv starts as a plain conv) or
            ``'xavier'`` (the released VPSNet code).
        ignore_index (int): void label. Defaults to 255.
        loss_weight (float): weight of ``loss_segm``. Defaults to 1.0.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 256,
                 channels: Sequence[int] = (256, 128, 128),
                 num_levels: int = 4,
                 norm_cfg: dict = dict(type='GN', num_groups=32, requires_grad=True),
                 dcn_backend: str = 'mmcv',
                 offset_init: str = 'zero',
                 ignore_index: int = 255,
                 loss_weight: float = 1.0,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if dcn_backend not in ('mmcv', 'none'):
            raise ValueError(f"UPSNetSemanticHead: dcn_backend must be 'mmcv' or 'none', got "
                             f'{dcn_backend!r} (torchvision cannot be imported in this stack)')
        if offset_init not in ('zero', 'xavier'):
            raise ValueError(f"UPSNetSemanticHead: offset_init must be 'zero' or 'xavier', got "
                             f'{offset_init!r}')
        if not channels:
            raise ValueError('UPSNetSemanticHead: channels must name at least one layer')
        self.num_classes = num_classes
        self.num_levels = num_levels
        self.offset_init = offset_init
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        dims = [in_channels] + list(channels)
        self.subnet = nn.Sequential(*[
            _DeformConvBlock(dims[i], dims[i + 1], norm_cfg, dcn_backend)
            for i in range(len(channels))
        ])
        self.conv_logits = nn.Conv2d(channels[-1] * num_levels, num_classes, 1)

    def init_weights(self) -> None:
        """Xavier-uniform convs (released code); offset convs zero unless ``'xavier'``."""
        super().init_weights()
        for block in self.subnet:
            xavier_init(block.conv, distribution='uniform')
            if block.offset is not None:
                if self.offset_init == 'zero':
                    constant_init(block.offset, 0)
                else:
                    xavier_init(block.offset, distribution='uniform')
        xavier_init(self.conv_logits, distribution='uniform')

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """``(fcn_score [B, C, H/4, W/4], fcn_output [B, C, H, W])`` from P2..P5."""
        if len(feats) < self.num_levels:
            raise ValueError(f'UPSNetSemanticHead needs {self.num_levels} FPN levels, got '
                             f'{len(feats)}')
        size = feats[0].shape[-2:]
        outs: List[Tensor] = []
        for level in range(self.num_levels):
            out = self.subnet(feats[level])
            if level > 0:
                out = F.interpolate(out, size=size, mode='bilinear', align_corners=False)
            outs.append(out)
        fcn_score = self.conv_logits(torch.cat(outs, dim=1))
        fcn_output = F.interpolate(fcn_score, scale_factor=4, mode='bilinear',
                                   align_corners=False)
        return fcn_score, fcn_output

    def loss(self, fcn_output: Tensor, gt_sem: Tensor) -> Tensor:
        """``loss_segm``: CE of ``fcn_output`` against the full-resolution ``[B, H, W]`` labels
        (void ``ignore_index``)."""
        if fcn_output.shape[-2:] != gt_sem.shape[-2:]:
            raise ValueError(f'UPSNetSemanticHead.loss: logits {tuple(fcn_output.shape[-2:])} '
                             f'and labels {tuple(gt_sem.shape[-2:])} differ in size')
        if not (gt_sem != self.ignore_index).any():
            return fcn_output.sum() * 0
        return F.cross_entropy(fcn_output, gt_sem.long(), ignore_index=self.ignore_index) \
            * self.loss_weight

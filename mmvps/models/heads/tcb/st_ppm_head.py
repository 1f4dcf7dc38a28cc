"""Pyramid pooling (PSPNet) split into pool and project, so TCB-st-ppm can blend in between."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmvps.registry import MODELS


@MODELS.register_module()
class PyramidPoolingModule(BaseModule):
    """PSPNet's pyramid pooling module in two steps: :meth:`pool` (adaptive average pooling to
    ``s x s`` for every bin ``s``, flattened and concatenated to ``[B, C, sum s^2]``, a per-frame
    summary that can be cached and averaged over frames) and :meth:`project` (per bin 1x1
    conv-BN-ReLU, bilinear upsampling to the target size, ``align_corners=False``).

    Args:
        in_channels (int): input channels (2048 for ResNet-101 layer4).
        channels (int): channels per bin after projection. Defaults to 512.
        pool_scales (Sequence[int]): bins. Defaults to (1, 2, 3, 6).
        norm_cfg (dict): norm layer. Defaults to BN.
    """

    def __init__(self, in_channels: int, channels: int = 512,
                 pool_scales: Sequence[int] = (1, 2, 3, 6), norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.pool_scales = tuple(int(s) for s in pool_scales)
        if not self.pool_scales or min(self.pool_scales) < 1:
            raise ValueError(f'PyramidPoolingModule: pool_scales must be positive, got '
                             f'{pool_scales}')
        self.projections = nn.ModuleList(
            ConvModule(in_channels, channels, 1, norm_cfg=norm_cfg) for _ in self.pool_scales)

    def pool(self, x: Tensor) -> Tensor:
        """``[B, C, h, w]`` -> ``[B, C, sum s^2]`` pooled bins (row-major per bin)."""
        return torch.cat([F.adaptive_avg_pool2d(x, s).flatten(2) for s in self.pool_scales],
                         dim=2)

    def project(self, pooled: Tensor, size: Tuple[int, int]) -> List[Tensor]:
        """Project each bin of ``[B, C, sum s^2]`` and upsample it to ``size``."""
        outs = []
        for s, part, projection in zip(
                self.pool_scales, pooled.split([s * s for s in self.pool_scales], dim=2),
                self.projections):
            part = projection(part.reshape(*part.shape[:2], s, s))
            outs.append(F.interpolate(part, size=size, mode='bilinear', align_corners=False))
        return outs


class TCBHeadMixin:
    """The shared TCB head interface the segmentor drives:

    * ``frame_features(x, soft_regions) -> (pixels, summary)`` for a batch of frames;
    * ``blending(summaries [B, n, ...]) -> [B, ...]`` (:class:`TemporalContextBlending`);
    * ``decode(pixels, context) -> logits`` of the target frames;
    * ``forward(feats [B, n, C, h, w], soft_regions) -> [B, K, h, w]`` target (frame 0) logits:
      with ``n = 1`` this is the image head (PSPNet / OCRNet).
    """

    def forward(self, feats: Tensor, soft_regions: Optional[Tensor] = None) -> Tensor:
        if feats.dim() != 5:
            raise ValueError(f'{type(self).__name__} expects [B, frames, C, h, w] features '
                             f'(target first), got {tuple(feats.shape)}')
        batch, num = feats.shape[:2]
        flat_regions = None if soft_regions is None else soft_regions.flatten(0, 1)
        pixels, summaries = self.frame_features(feats.flatten(0, 1), flat_regions)
        pixels = pixels.unflatten(0, (batch, num))[:, 0]
        context = self.blending(summaries.unflatten(0, (batch, num)))
        return self.decode(pixels, context)


@MODELS.register_module()
class STPPMHead(TCBHeadMixin, BaseModule):
    """PSPNet head / TCB-st-ppm head (P Sec. 4.1.2, spec tcb.md sections 1.2, 2.2): pool every
    frame's layer4, average the pooled bins over the frames, project them, concatenate with the
    target's layer4, 3x3 conv-BN-ReLU, Dropout2d, 1x1 classifier. One frame = PSPNet.

    Args:
        in_channels (int): layer4 channels (2048).
        num_classes (int): classes K.
        channels (int): bottleneck channels. Defaults to 512.
        pool_channels (int, optional): channels of each projected bin. Defaults to
            ``channels``.
        pool_scales (Sequence[int]): PPM bins. Defaults to (1, 2, 3, 6).
        dropout_ratio (float): Dropout2d before the classifier. Defaults to 0.1.
        blending (dict): :class:`TemporalContextBlending` config.
        norm_cfg (dict): norm layer. Defaults to BN.
    """

    def __init__(self, in_channels: int, num_classes: int, channels: int = 512,
                 pool_channels: Optional[int] = None,
                 pool_scales: Sequence[int] = (1, 2, 3, 6), dropout_ratio: float = 0.1,
                 blending: dict = dict(type='TemporalContextBlending'),
                 norm_cfg: dict = dict(type='BN'), init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        pool_channels = pool_channels or channels
        self.ppm = PyramidPoolingModule(in_channels, pool_channels, pool_scales,
                                        norm_cfg=norm_cfg)
        self.blending = MODELS.build(blending)
        self.bottleneck = ConvModule(in_channels + len(self.ppm.pool_scales) * pool_channels,
                                     channels, 3, padding=1, norm_cfg=norm_cfg)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)
        self.num_classes = num_classes

    def frame_features(self, x: Tensor, soft_regions: Optional[Tensor] = None):
        """Per frame: the pixels are layer4 itself, the summary its pooled bins."""
        return x, self.ppm.pool(x)

    def decode(self, x: Tensor, pooled: Tensor) -> Tensor:
        """Target layer4 ``[B, C, h, w]`` and blended bins ``[B, C, sum s^2]`` -> logits."""
        feats = torch.cat([x, *self.ppm.project(pooled, x.shape[-2:])], dim=1)
        return self.conv_seg(self.dropout(self.bottleneck(feats)))

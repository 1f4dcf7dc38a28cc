"""Semantic FPN with positional encoding: the single 1/4-resolution feature map of K-Net."""
from typing import Optional, Sequence

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.layers import ConvUpsample
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class SemanticFPN(BaseModule):
    """Fuse FPN levels into one stride-4 map (Semantic FPN, Kirillov et al.), as K-Net's
    ``SemanticFPNWrapper`` does for its kernels.

    Level ``i`` (stride ``4 * 2**i``) goes through ``max(i, 1)`` 3x3 convs, each followed by a 2x
    upsampling for ``i > 0`` (mmdet's ``ConvUpsample``); the levels are summed and projected by a
    1x1 conv. A sine positional encoding is added to the top level's input so that the kernels
    can tell instances apart by position (Video K-Net, Sec. 3.3).

    Args:
        in_channels (int): channels of every input level (FPN ``out_channels``).
        feat_channels (int): channels of the per-level branches.
        out_channels (int): channels of the output map.
        num_levels (int): number of input levels used, from stride 4 upwards.
        positional_encoding (dict, optional): config of a positional encoding from
            ``mmdet.models.layers`` whose output has ``in_channels`` channels; ``None`` to skip.
        conv_cfg (dict, optional): conv layer config.
        norm_cfg (dict, optional): norm layer config of all convs.
        act_cfg (dict): activation config of all convs.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 in_channels: int = 256,
                 feat_channels: int = 256,
                 out_channels: int = 256,
                 num_levels: int = 4,
                 positional_encoding: Optional[dict] = dict(
                     type='SinePositionalEncoding', num_feats=128, normalize=True),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_levels = num_levels
        self.positional_encoding = None
        if positional_encoding is not None:
            self.positional_encoding = MODELS.build(positional_encoding)
            pos_channels = 2 * self.positional_encoding.num_feats
            if pos_channels != in_channels:
                raise ValueError(f'positional encoding gives {pos_channels} channels but the '
                                 f'top level has {in_channels}; set num_feats={in_channels // 2}')
        self.level_convs = ModuleList([
            ConvUpsample(
                in_channels,
                feat_channels,
                num_layers=max(level, 1),
                num_upsample=level,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for level in range(num_levels)
        ])
        self.conv_pred = ConvModule(
            feat_channels, out_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args:
            inputs (Sequence[Tensor]): FPN levels ``[B, in_channels, H/4 / 2**i, W/4 / 2**i]``.

        Returns:
            Tensor: ``[B, out_channels, H/4, W/4]``.
        """
        if len(inputs) < self.num_levels:
            raise ValueError(f'SemanticFPN needs {self.num_levels} levels, got {len(inputs)}')
        out_size = inputs[0].shape[-2:]
        fused = 0
        for level in range(self.num_levels):
            feat = inputs[level]
            if level == self.num_levels - 1 and self.positional_encoding is not None:
                feat = feat + self.positional_encoding(None, input=feat)
            feat = self.level_convs[level](feat)
            if feat.shape[-2:] != out_size:  # inputs not divisible by the top stride
                feat = F.interpolate(feat, size=out_size, mode='bilinear', align_corners=False)
            fused = fused + feat
        return self.conv_pred(fused)

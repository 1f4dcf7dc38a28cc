"""Semantic FPN with positional encoding: the feature map(s) of K-Net's kernels."""
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, ModuleList, normal_init
from torch import Tensor

from mmvps.registry import MODELS


class LevelConvs(BaseModule):
    """3x3 conv modules of one Semantic-FPN level, each of the first ``num_upsample`` followed
    by a 2x bilinear upsampling (mmdet's ``ConvUpsample`` layout, state-dict keys
    ``conv.{j}.*``), the first conv with ``first_stride`` (2: K-Net's stride-8 level 0)."""

    def __init__(self, in_channels: int, channels: int, num_layers: int, num_upsample: int,
                 first_stride: int = 1, **conv_kwargs) -> None:
        super().__init__()
        if num_upsample > num_layers:
            raise ValueError(f'{num_upsample} upsamplings need as many convs, got {num_layers}')
        self.num_upsample = num_upsample
        self.conv = ModuleList([
            ConvModule(in_channels if j == 0 else channels, channels, 3,
                       stride=first_stride if j == 0 else 1, padding=1, **conv_kwargs)
            for j in range(num_layers)
        ])

    def forward(self, x: Tensor) -> Tensor:
        for j, conv in enumerate(self.conv):
            x = conv(x)
            if j < self.num_upsample:
                x = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
        return x


@MODELS.register_module()
class SemanticFPN(BaseModule):
    """Fuse FPN levels into one map (Semantic FPN, Kirillov et al.), as K-Net's
    ``SemanticFPNWrapper`` does for its kernels.

    Level ``i`` (stride ``4 * 2**i``) goes through ``max(i, 1)`` 3x3 convs; the levels are
    summed and projected by a 1x1 conv. A sine positional encoding is added to the top level's
    input so that the kernels can tell instances apart by position (Video K-Net, Sec. 3.3).

    * ``out_stride=4`` (mmvps default, K-Net's image setting with ``upsample_times=3``): every
      conv of level ``i > 0`` is followed by a 2x upsampling.
    * ``out_stride=8`` (the official Video K-Net code, ``upsample_times=2``): level 0 is one
      stride-2 conv and level ``i > 0`` upsamples after its first ``i - 1`` convs.

    ``out_conv=False`` (PanopticFCN) returns the sum of the levels without the 1x1 conv.

    ``num_aux_convs=1`` (official Video K-Net) adds a second 1x1 conv on the fused map; the
    forward then returns ``(out, aux)``: ``out`` feeds the thing (localization) branch of
    :class:`ConvKernelHead`, ``aux`` its semantic (stuff) branch.

    Args:
        in_channels (int): channels of every input level (FPN ``out_channels``).
        feat_channels (int): channels of the per-level branches.
        out_channels (int): channels of the output map.
        num_levels (int): number of input levels used, from stride 4 upwards.
        out_stride (int): 4 or 8, the stride of the output map (see above).
        num_aux_convs (int): 0, or 1 for the second (semantic) output.
        out_conv (bool): project the fused map by the 1x1 conv (``conv_pred``).
        conv_init_std (float, optional): initialize every conv with N(0, std) and zero bias
            (official code: 0.01); None keeps mmcv's default.
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
                 out_stride: int = 4,
                 num_aux_convs: int = 0,
                 out_conv: bool = True,
                 conv_init_std: Optional[float] = None,
                 positional_encoding: Optional[dict] = dict(
                     type='SinePositionalEncoding', num_feats=128, normalize=True),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if out_stride not in (4, 8):
            raise ValueError(f'SemanticFPN: out_stride must be 4 or 8, got {out_stride}')
        if num_aux_convs not in (0, 1):
            raise ValueError(f'SemanticFPN: num_aux_convs must be 0 or 1, got {num_aux_convs}')
        if num_aux_convs and not out_conv:
            raise ValueError('SemanticFPN: num_aux_convs needs out_conv=True')
        self.num_levels = num_levels
        self.out_stride = out_stride
        self.conv_init_std = conv_init_std
        self.positional_encoding = None
        if positional_encoding is not None:
            self.positional_encoding = MODELS.build(positional_encoding)
            pos_channels = 2 * self.positional_encoding.num_feats
            if pos_channels != in_channels:
                raise ValueError(f'positional encoding gives {pos_channels} channels but the '
                                 f'top level has {in_channels}; set num_feats={in_channels // 2}')
        stride8 = out_stride == 8
        self.level_convs = ModuleList([
            LevelConvs(
                in_channels,
                feat_channels,
                num_layers=max(level, 1),
                num_upsample=max(level - 1, 0) if stride8 else level,
                first_stride=2 if stride8 and level == 0 else 1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for level in range(num_levels)
        ])
        self.conv_pred = ConvModule(
            feat_channels, out_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg) if out_conv else None
        self.aux_convs = ModuleList([
            ConvModule(feat_channels, out_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                       act_cfg=act_cfg) for _ in range(num_aux_convs)
        ])

    def init_weights(self) -> None:
        super().init_weights()
        if self.conv_init_std is not None:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    normal_init(module, std=self.conv_init_std)

    def forward(self, inputs: Sequence[Tensor]) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """Args:
            inputs (Sequence[Tensor]): FPN levels ``[B, in_channels, H/4 / 2**i, W/4 / 2**i]``.

        Returns:
            Tensor | tuple: ``[B, out_channels, H/s, W/s]`` (``s = out_stride``), or
            ``(out, aux)`` of that shape with an aux conv.
        """
        if len(inputs) < self.num_levels:
            raise ValueError(f'SemanticFPN needs {self.num_levels} levels, got {len(inputs)}')
        out_size = inputs[0].shape[-2:] if self.out_stride == 4 else inputs[1].shape[-2:]
        fused = 0
        for level in range(self.num_levels):
            feat = inputs[level]
            if level == self.num_levels - 1 and self.positional_encoding is not None:
                feat = feat + self.positional_encoding(None, input=feat)
            feat = self.level_convs[level](feat)
            if feat.shape[-2:] != out_size:  # inputs not divisible by the top stride
                feat = F.interpolate(feat, size=out_size, mode='bilinear', align_corners=False)
            fused = fused + feat
        if self.conv_pred is None:
            return fused
        out = self.conv_pred(fused)
        if len(self.aux_convs):
            return out, self.aux_convs[0](fused)
        return out

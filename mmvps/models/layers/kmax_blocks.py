"""The two residual blocks of kMaX-DeepLab's pixel decoder (BD ``kmax_pixel_decoder.py``
206-268, spec 1.3): pre-activation GELU, 1x1 conv-BN-GELU, a middle op, 1x1 conv-BN to
``4 * channels`` with its BN scale initialised to 0, drop-path, residual."""
from typing import Sequence

import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

from mmvps.registry import MODELS
from .axial_attention import DEFAULT_NORM_CFG, AxialAttention2d
from .kmax_conv_module import KMaXConvModule

GELU = dict(type='GELU')


class _KMaXResidualBlock(nn.Module):
    """Shared frame of both blocks; subclasses set ``self.middle`` (``width`` -> ``middle_out``)."""

    def __init__(self, in_channels: int, width: int, middle_out: int, out_channels: int,
                 drop_path: float, norm_cfg: dict) -> None:
        super().__init__()
        self.conv1 = KMaXConvModule(in_channels, width, 1, bias=False, norm_cfg=norm_cfg,
                                    act_cfg=GELU)
        self.conv3 = KMaXConvModule(middle_out, out_channels, 1, bias=False, norm_cfg=norm_cfg,
                                    act_cfg=None, norm_init=0.0)
        self.shortcut = None
        if in_channels != out_channels:
            self.shortcut = KMaXConvModule(in_channels, out_channels, 1, bias=False,
                                           norm_cfg=norm_cfg, act_cfg=None)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = F.gelu(x)
        shortcut = x if self.shortcut is None else self.shortcut(x)
        x = self.conv3(self.middle(self.conv1(x)))
        return self.drop_path(x) + shortcut


@MODELS.register_module()
class AxialBlock(_KMaXResidualBlock):
    """Axial block: width ``2 * channels``, 2-D axial attention (key depth ``channels``, value
    depth ``2 * channels``) + GELU in the middle, output ``4 * channels``.

    Args:
        in_channels: input channels.
        channels: the stage's base width ``f``.
        axis_shape: ``(H, W)`` of the feature map (fixed padded input size / stride).
        num_heads: attention heads.
        drop_path: drop-path probability of the residual branch.
        norm_cfg: norm config.
    """

    def __init__(self, in_channels: int, channels: int, axis_shape: Sequence[int],
                 num_heads: int = 8, drop_path: float = 0.0,
                 norm_cfg: dict = DEFAULT_NORM_CFG) -> None:
        super().__init__(in_channels, 2 * channels, 2 * channels, 4 * channels, drop_path,
                         norm_cfg)
        self.attention = AxialAttention2d(2 * channels, axis_shape, channels, 2 * channels,
                                          num_heads, norm_cfg=norm_cfg)

    def middle(self, x: Tensor) -> Tensor:
        return F.gelu(self.attention(x))


@MODELS.register_module()
class KMaXBottleneckBlock(_KMaXResidualBlock):
    """Bottleneck block: width ``channels``, 3x3 conv-BN-GELU in the middle, output
    ``4 * channels``. Arguments as ``AxialBlock`` without the attention ones."""

    def __init__(self, in_channels: int, channels: int, drop_path: float = 0.0,
                 norm_cfg: dict = DEFAULT_NORM_CFG) -> None:
        super().__init__(in_channels, channels, channels, 4 * channels, drop_path, norm_cfg)
        self.conv2 = KMaXConvModule(channels, channels, 3, padding=1, bias=False,
                                    norm_cfg=norm_cfg, act_cfg=GELU)

    def middle(self, x: Tensor) -> Tensor:
        return self.conv2(x)

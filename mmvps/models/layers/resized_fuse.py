"""Resized fuse between two pixel-decoder stages (BD ``kmax_pixel_decoder.py`` 272-297)."""
import torch.nn.functional as F
from torch import Tensor, nn

from mmvps.registry import MODELS
from .axial_attention import DEFAULT_NORM_CFG
from .kmax_conv_module import KMaXConvModule


@MODELS.register_module()
class ResizedFuse(nn.Module):
    """Sum of the previous (low-resolution) stage output and a backbone skip, both brought to
    ``out_channels``: each input whose width differs goes through GELU + 1x1 conv-BN; the
    low-resolution one is then upsampled bilinearly (``align_corners=False``, spec 1.1) to the
    skip's size.

    Args:
        low_channels: channels of the previous stage output.
        high_channels: channels of the (LayerNorm'd) backbone skip.
        out_channels: output channels.
        norm_cfg: norm config.
    """

    def __init__(self, low_channels: int, high_channels: int, out_channels: int,
                 norm_cfg: dict = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        self.low_proj = None
        self.high_proj = None
        if low_channels != out_channels:
            self.low_proj = KMaXConvModule(low_channels, out_channels, 1, bias=False,
                                           norm_cfg=norm_cfg, act_cfg=None)
        if high_channels != out_channels:
            self.high_proj = KMaXConvModule(high_channels, out_channels, 1, bias=False,
                                            norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, low: Tensor, high: Tensor) -> Tensor:
        if self.low_proj is not None:
            low = self.low_proj(F.gelu(low))
        low = F.interpolate(low, size=high.shape[-2:], mode='bilinear', align_corners=False)
        if self.high_proj is not None:
            high = self.high_proj(F.gelu(high))
        return low + high

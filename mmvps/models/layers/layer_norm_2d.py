"""Channels-first LayerNorm (mmcv has none)."""
import torch
from torch import Tensor, nn

from mmvps.registry import MODELS


@MODELS.register_module()
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel axis of ``[N, C, H, W]`` maps (ConvNeXt's "channels_first"
    LayerNorm), computed in float32. A ``nn.LayerNorm`` subclass (same ``weight`` / ``bias``), so
    mmengine's ``norm_decay_mult`` treats it as a norm.

    Args:
        num_channels: C.
        eps: added to the variance (1e-6 in ConvNeXt and kMaX-DeepLab).
    """

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__(num_channels, eps=eps)
        self.num_channels = num_channels

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.num_channels:
            raise ValueError(f'LayerNorm2d({self.num_channels}) expects [N, {self.num_channels}, '
                             f'H, W], got {list(x.shape)}')
        dtype = x.dtype
        x = x.float()
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        x = self.weight[:, None, None] * x + self.bias[:, None, None]
        return x.to(dtype)

"""k-means cross-attention (kMaX-DeepLab Sec 3.2; BD ``kmax_transformer_decoder.py`` 194-208;
DL2 ``dual_path_transformer.py`` 405-432)."""
import torch
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

from mmvps.models.layers import KMaXConvModule, norm_cfg_1d
from mmvps.registry import MODELS

DEFAULT_NORM_CFG = dict(type='SyncBN', eps=1e-3, momentum=0.01)


def kmeans_assignment(mask_logits: Tensor) -> Tensor:
    """Cluster-wise argmax: ``[B, N, P]`` logits -> ``[B, N, P]`` one-hot over the N queries at
    every pixel (ties go to the lowest index), without gradient."""
    with torch.no_grad():
        index = mask_logits.detach().argmax(dim=1, keepdim=True)
        return torch.zeros_like(mask_logits).scatter_(1, index, 1.0)


@MODELS.register_module()
class KMeansCrossAttention(nn.Module):
    """k-means update of the cluster centres from the pixels assigned to them.

    The pixel values (1x1 conv-BN of the pixel space) are *summed* per query over the pixels whose
    argmax query it is (``kmeans_assignment``, no gradient); the sums go through BN and a 1x1
    conv-BN whose BN scale starts at 0, then drop-path, and are added to the queries.

    Args:
        pixel_channels: channels of the pixel space.
        query_channels: channels of the queries (D).
        value_channels: channels of the pixel values.
        drop_path: drop-path probability of the update.
        norm_cfg: norm config.
    """

    def __init__(self, pixel_channels: int = 256, query_channels: int = 256,
                 value_channels: int = 256, drop_path: float = 0.0,
                 norm_cfg: dict = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        self.value_proj = KMaXConvModule(pixel_channels, value_channels, 1,
                                         conv_init=pixel_channels**-0.5, bias=False,
                                         norm_cfg=norm_cfg, act_cfg=None)
        self.update_norm = build_norm_layer(norm_cfg_1d(norm_cfg), value_channels)[1]
        self.out_proj = KMaXConvModule(value_channels, query_channels, 1, conv_type='1d',
                                       bias=False, norm_cfg=norm_cfg, act_cfg=None, norm_init=0.0)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, queries: Tensor, pixel_space: Tensor, mask_logits: Tensor) -> Tensor:
        """queries ``[B, D, N]``, pixel_space ``[B, C, H', W']`` (a clip's stacked map),
        mask_logits ``[B, N, H', W']`` -> updated queries ``[B, D, N]``."""
        values = self.value_proj(pixel_space).flatten(2)  # B x V x P
        assignment = kmeans_assignment(mask_logits.flatten(2))  # B x N x P
        update = torch.einsum('bnp,bvp->bvn', assignment.float(), values.float()).to(values.dtype)
        update = self.out_proj(self.update_norm(update))
        return queries + self.drop_path(update)

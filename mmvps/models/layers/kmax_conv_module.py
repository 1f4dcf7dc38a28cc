"""Conv -> norm -> activation with kMaX-DeepLab's initialisation."""
import math
from typing import Optional, Union

from mmcv.cnn import ConvModule
from mmengine.model.weight_init import trunc_normal_
from torch import nn


def norm_cfg_1d(norm_cfg: Optional[dict]) -> Optional[dict]:
    """The norm config for ``[N, C, L]`` inputs: plain ``BN`` becomes ``BN1d`` (``SyncBN`` and
    ``GN`` take any rank already)."""
    if norm_cfg is None or norm_cfg.get('type') not in ('BN', 'BN2d'):
        return norm_cfg
    return dict(norm_cfg, type='BN1d')


def kmax_trunc_normal_(tensor, std: float) -> None:
    """Truncated normal cut at two standard deviations (timm's ``trunc_normal_tf_``); mmengine's
    ``trunc_normal_`` takes absolute bounds."""
    trunc_normal_(tensor, mean=0., std=std, a=-2. * std, b=2. * std)


class KMaXConvModule(ConvModule):
    """mmcv ``ConvModule`` whose ``init_weights`` follows kMaX-DeepLab (spec 1.4 "Init").

    Args:
        conv_init: ``'he_normal'`` (truncated normal, std ``sqrt(2 / fan_in)``),
            ``'xavier_uniform'`` (depthwise convs) or a float std of a truncated normal.
        norm_init: initial norm scale; 0 for the last norm of a residual branch so that the branch
            starts as zero.
        conv_type: ``'2d'`` for maps ``[N, C, H, W]``, ``'1d'`` for query sets ``[N, C, L]``.
        Other arguments as ``ConvModule``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 1,
                 conv_init: Union[str, float] = 'he_normal',
                 norm_init: float = 1.0,
                 conv_type: str = '2d',
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        if conv_type not in ('1d', '2d'):
            raise ValueError(f"conv_type must be '1d' or '2d', got {conv_type!r}")
        self.conv_init = conv_init
        self.norm_init = norm_init
        conv_cfg = dict(type='Conv1d') if conv_type == '1d' else None
        if conv_type == '1d':
            norm_cfg = norm_cfg_1d(norm_cfg)
        super().__init__(in_channels, out_channels, kernel_size, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, act_cfg=act_cfg, **kwargs)

    def init_weights(self) -> None:
        weight = self.conv.weight
        if self.conv_init == 'xavier_uniform':
            nn.init.xavier_uniform_(weight)
        elif self.conv_init == 'he_normal':
            kmax_trunc_normal_(weight, std=math.sqrt(2.0 / weight[0].numel()))
        else:
            kmax_trunc_normal_(weight, std=float(self.conv_init))
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)
        if self.with_norm:
            nn.init.constant_(self.norm.weight, self.norm_init)
            nn.init.zeros_(self.norm.bias)

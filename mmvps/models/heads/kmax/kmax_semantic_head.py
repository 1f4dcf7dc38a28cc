"""kMaX-DeepLab's auxiliary semantic head (Panoptic-DeepLab single decoder + head; BD
``kmax_transformer_decoder.py`` 231-327, spec 1.5)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmvps.models.layers import KMaXConvModule
from mmvps.registry import MODELS

DEFAULT_NORM_CFG = dict(type='SyncBN', eps=1e-3, momentum=0.01)
GELU = dict(type='GELU')


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1x1, three dilated 3x3 and an image-pooling branch, each
    conv-BN-GELU, concatenated, 1x1 conv-BN-GELU, dropout."""

    def __init__(self, in_channels: int, channels: int, dilations: Sequence[int],
                 dropout: float, norm_cfg: dict) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            [KMaXConvModule(in_channels, channels, 1, bias=False, norm_cfg=norm_cfg,
                            act_cfg=GELU)] +
            [KMaXConvModule(in_channels, channels, 3, padding=d, dilation=d, bias=False,
                            norm_cfg=norm_cfg, act_cfg=GELU) for d in dilations])
        self.pool_conv = KMaXConvModule(in_channels, channels, 1, bias=False, norm_cfg=norm_cfg,
                                        act_cfg=GELU)
        self.project = KMaXConvModule((len(dilations) + 2) * channels, channels, 1, bias=False,
                                      norm_cfg=norm_cfg, act_cfg=GELU)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.pool_conv(F.adaptive_avg_pool2d(x, 1)).expand(-1, -1, *x.shape[-2:])
        x = torch.cat([conv(x) for conv in self.convs] + [pooled], dim=1)
        return self.dropout(self.project(x))


class _LowLevelFusion(nn.Module):
    """Project a skip, upsample the coarse map to it, concat, depthwise 5x5 conv-BN-GELU, 1x1
    conv-BN-GELU."""

    def __init__(self, channels: int, skip_channels: int, skip_proj_channels: int,
                 norm_cfg: dict) -> None:
        super().__init__()
        fused = channels + skip_proj_channels
        self.skip_proj = KMaXConvModule(skip_channels, skip_proj_channels, 1, bias=False,
                                        norm_cfg=norm_cfg, act_cfg=GELU)
        self.conv_dw = KMaXConvModule(fused, fused, 5, padding=2, groups=fused, bias=False,
                                      conv_init='xavier_uniform', norm_cfg=norm_cfg,
                                      act_cfg=GELU)
        self.conv_pw = KMaXConvModule(fused, channels, 1, bias=False, norm_cfg=norm_cfg,
                                      act_cfg=GELU)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        skip = self.skip_proj(skip)
        x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear', align_corners=False)
        return self.conv_pw(self.conv_dw(torch.cat([x, skip], dim=1)))


@MODELS.register_module()
class KMaXSemanticHead(BaseModule):
    """ASPP on res5, fused with res3 (projected to 64 ch) and res2 (32 ch), then depthwise 5x5 +
    1x1 conv-BN-GELU and a final 1x1 conv (bias, std 0.01) to the C classes at OS4. Runs per
    frame. kMaX's head has a (C+1)-th void output that its loss ignores; here the output has
    the C classes only (void pixels are ignored by the loss, index 255).

    Args:
        in_channels: channels of res2, res3, res5.
        num_classes: C.
        channels: width of ASPP and the fusion (256).
        low_level_channels: projections of res3 and res2 (64, 32).
        dilations: ASPP rates.
        dropout: ASPP dropout.
        norm_cfg: norm config.
        init_cfg: mmengine init config.

    ``forward(feats)`` takes the backbone tuple (OS4, OS8, OS16, OS32) and returns
    ``[B*T, C, H4, W4]`` logits.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (256, 512, 2048),
                 num_classes: int = 133,
                 channels: int = 256,
                 low_level_channels: Sequence[int] = (64, 32),
                 dilations: Sequence[int] = (6, 12, 18),
                 dropout: float = 0.1,
                 norm_cfg: dict = DEFAULT_NORM_CFG,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        res2_channels, res3_channels, res5_channels = in_channels
        self.aspp = ASPP(res5_channels, channels, dilations, dropout, norm_cfg)
        self.fuse_os8 = _LowLevelFusion(channels, res3_channels, low_level_channels[0], norm_cfg)
        self.fuse_os4 = _LowLevelFusion(channels, res2_channels, low_level_channels[1], norm_cfg)
        self.conv_dw = KMaXConvModule(channels, channels, 5, padding=2, groups=channels,
                                      bias=False, conv_init='xavier_uniform', norm_cfg=norm_cfg,
                                      act_cfg=GELU)
        self.conv_pw = KMaXConvModule(channels, channels, 1, bias=False, norm_cfg=norm_cfg,
                                      act_cfg=GELU)
        self.cls_conv = KMaXConvModule(channels, num_classes, 1, bias=True, conv_init=0.01,
                                       norm_cfg=None, act_cfg=None)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        if len(feats) != 4:
            raise ValueError(f'KMaXSemanticHead expects the backbone tuple (OS4, OS8, OS16, '
                             f'OS32), got {len(feats)} maps')
        x = self.aspp(feats[3])
        x = self.fuse_os8(x, feats[1])
        x = self.fuse_os4(x, feats[0])
        return self.cls_conv(self.conv_pw(self.conv_dw(x)))

"""Learned residual flow on a correlation volume (VPSNet's align step, spec §2.1 step 3)."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.models.ops import local_correlation
from mmvps.registry import MODELS


@MODELS.register_module()
class FlowRefiner(BaseModule):
    """Predict a residual flow from ``concat[key, corr(key, warped_ref), flow_init]``.

    ``corr`` is :func:`local_correlation` with ``max_displacement`` (1x1 patches, stride 1,
    ``(2d + 1)^2`` channels, no activation); then 3x3 convs through ``hidden_channels`` with
    LeakyReLU(0.1) and a last 3x3 conv to 2 channels (x, y in pixels of the input grid). With
    ``in_channels=256, max_displacement=4, hidden_channels=(64, 64, 32)`` this is the released
    VPSNet ``LiteFlowNetCorr`` (339 -> 64 -> 64 -> 32 -> 2). It has no flow supervision: the task
    losses train it.
    """

    def __init__(self,
                 in_channels: int = 256,
                 max_displacement: int = 4,
                 hidden_channels: Sequence[int] = (64, 64, 32),
                 with_flow_init: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.max_displacement = max_displacement
        self.with_flow_init = with_flow_init
        channels = in_channels + (2 * max_displacement + 1)**2 + (2 if with_flow_init else 0)
        layers = []
        for out in hidden_channels:
            layers.append(ConvModule(channels, out, 3, padding=1,
                                     act_cfg=dict(type='LeakyReLU', negative_slope=0.1)))
            channels = out
        layers.append(nn.Conv2d(channels, 2, 3, padding=1))
        self.convs = nn.Sequential(*layers)

    def forward(self, key: Tensor, warped_ref: Tensor,
                flow_init: Optional[Tensor] = None) -> Tensor:
        parts = [key, local_correlation(key, warped_ref, self.max_displacement)]
        if self.with_flow_init:
            if flow_init is None:
                raise ValueError('FlowRefiner(with_flow_init=True) needs flow_init')
            parts.append(flow_init)
        return self.convs(torch.cat(parts, dim=1))

"""Kernel fusion of Video K-Net (Sec. 3.2, "Learning to Fuse Kernels")."""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmvps.registry import MODELS
from .kernel_linking import KernelLinking
from .kernel_update_head import assemble_group_features


@MODELS.register_module()
class KernelFusion(KernelLinking):
    """Fuse the previous frame's kernels into the current ones at the start of K-Net's last stage.

    1. kernel update of the previous kernels on the current frame (K-Net's step 2): their masks
       on the current features (``mask_fc(K_prev) . F``), group feature assembling under those
       masks, and the adaptive kernel update (:class:`KernelUpdator`). The paper finds this step
       essential: objects move and change scale between frames, so the previous kernels are
       first re-weighted by what they see now;
    2. fusion: multi-head attention with the current kernels as queries and the updated previous
       kernels as keys and values (plus the identity), then an FFN, each followed by LayerNorm:
       the attention block of :class:`KernelLinking`, which this module extends.

    ``mode='official'`` is the official code's ``previous_link="update_dynamic_cov"``: the
    previous kernels are updated index-aligned with the current frame's group features (the
    current kernels' binarised masks on the transformed features, as the stage assembles them),
    without ``mask_fc``; the stage head calls it after assembling (``group_feats`` given).

    Args:
        in_channels (int): kernel and feature channels ``C``.
        num_heads (int): heads of the attention.
        feedforward_channels (int): hidden channels of the FFN.
        num_ffn_fcs (int): FC layers of the FFN.
        dropout (float): dropout of attention and FFN.
        ffn_act_cfg (dict): activation of the FFN.
        kernel_updator_cfg (dict): the adaptive kernel update (K-Net's ``KernelUpdator``).
        mode (str): ``'mmvps'`` or ``'official'`` (see above).
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 in_channels: int = 256,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 num_ffn_fcs: int = 2,
                 dropout: float = 0.0,
                 ffn_act_cfg: dict = dict(type='ReLU', inplace=True),
                 kernel_updator_cfg: dict = dict(
                     type='KernelUpdator', in_channels=256, feat_channels=256),
                 mode: str = 'mmvps',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(in_channels, num_heads, feedforward_channels, num_ffn_fcs, dropout,
                         ffn_act_cfg, init_cfg=init_cfg)
        if mode not in ('mmvps', 'official'):
            raise ValueError(f"KernelFusion: mode must be 'mmvps' or 'official', got {mode!r}")
        self.mode = mode
        if mode == 'mmvps':
            self.mask_fc = nn.Linear(in_channels, in_channels)
        self.kernel_updator = MODELS.build(kernel_updator_cfg)

    def update_previous(self, previous_kernels: Tensor, feats: Tensor) -> Tensor:
        """Kernel update of ``[B, M, C]`` previous kernels on the current ``[B, C, h, w]``
        features."""
        masks = torch.einsum('bmc,bchw->bmhw', self.mask_fc(previous_kernels), feats)
        return self.kernel_updator(assemble_group_features(masks, feats), previous_kernels)

    def forward(self, kernels: Tensor, previous_kernels: Tensor, feats: Optional[Tensor] = None,
                group_feats: Optional[Tensor] = None) -> Tensor:
        """Args:
            kernels (Tensor): ``[B, K, C]`` current kernels entering the last stage.
            previous_kernels (Tensor): ``[B, M, C]`` last-stage kernels of the previous
                (training: reference) frame.
            feats (Tensor): ``[B, C, h, w]`` features of the current frame (``'mmvps'`` mode).
            group_feats (Tensor): ``[B, K, C]`` current group features (``'official'`` mode).

        Returns:
            Tensor: ``[B, K, C]`` fused kernels.
        """
        if kernels.dim() != 3 or previous_kernels.dim() != 3 or \
                kernels.shape[0] != previous_kernels.shape[0] or \
                kernels.shape[2] != self.in_channels or \
                previous_kernels.shape[2] != self.in_channels:
            raise ValueError(f'KernelFusion expects [B, K, {self.in_channels}] kernels and '
                             f'previous kernels, got {tuple(kernels.shape)} and '
                             f'{tuple(previous_kernels.shape)}')
        if self.mode == 'official':
            if group_feats is None or group_feats.shape != previous_kernels.shape:
                raise ValueError('KernelFusion(mode="official") needs index-aligned group '
                                 'features and previous kernels')
            return super().forward(kernels, self.kernel_updator(group_feats, previous_kernels))
        return super().forward(kernels, self.update_previous(previous_kernels, feats))

"""Adaptive kernel update of K-Net: gated fusion of assembled group features into the kernels."""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class KernelUpdator(nn.Module):
    """Update kernels ``K`` with their assembled group features ``F^K`` (K-Net's adaptive
    kernel update).

    ``F^G = phi_1(F^K) * phi_2(K)`` is a per-kernel interaction; two gates are learned from it,
    ``G^F = sigmoid(psi_1(F^G))`` and ``G^K = sigmoid(psi_2(F^G))``, and the new kernel is
    ``K~ = G^F * psi_3(F^K) + G^K * psi_4(K)``, followed by an FC projection, LayerNorm and
    activation. The gates let each kernel decide how much of its previous content to keep and
    how much of the features under its current mask to absorb.

    Args:
        in_channels (int): kernel channels ``C``.
        feat_channels (int): channels of the gates and projected terms.
        out_channels (int, optional): channels of the updated kernels; ``in_channels`` if None.
        norm_cfg (dict): normalization after each projection.
        act_cfg (dict): activation of the output.
    """

    def __init__(self,
                 in_channels: int = 256,
                 feat_channels: int = 64,
                 out_channels: Optional[int] = None,
                 norm_cfg: dict = dict(type='LN'),
                 act_cfg: dict = dict(type='ReLU', inplace=True)) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.out_channels = out_channels or in_channels
        # phi_1 | psi_3 on the assembled features, phi_2 | psi_4 on the kernels
        self.feature_layer = nn.Linear(in_channels, 2 * feat_channels)
        self.kernel_layer = nn.Linear(in_channels, 2 * feat_channels)
        self.feature_gate = nn.Linear(feat_channels, feat_channels)  # psi_1
        self.kernel_gate = nn.Linear(feat_channels, feat_channels)  # psi_2
        self.feature_gate_norm = build_norm_layer(norm_cfg, feat_channels)[1]
        self.kernel_gate_norm = build_norm_layer(norm_cfg, feat_channels)[1]
        self.feature_out_norm = build_norm_layer(norm_cfg, feat_channels)[1]
        self.kernel_out_norm = build_norm_layer(norm_cfg, feat_channels)[1]
        self.fc_layer = nn.Linear(feat_channels, self.out_channels)
        self.fc_norm = build_norm_layer(norm_cfg, self.out_channels)[1]
        self.activation = build_activation_layer(act_cfg)

    def forward(self, group_feats: Tensor, kernels: Tensor) -> Tensor:
        """Args:
            group_feats (Tensor): assembled features ``F^K``, ``[..., C]``.
            kernels (Tensor): kernels ``K`` of the previous stage, same shape.

        Returns:
            Tensor: updated kernels ``[..., out_channels]``.
        """
        feature_in, feature_out = self.feature_layer(group_feats).split(self.feat_channels, -1)
        kernel_in, kernel_out = self.kernel_layer(kernels).split(self.feat_channels, -1)
        gate_feats = feature_in * kernel_in
        feature_gate = self.feature_gate_norm(self.feature_gate(gate_feats)).sigmoid()
        kernel_gate = self.kernel_gate_norm(self.kernel_gate(gate_feats)).sigmoid()
        updated = (feature_gate * self.feature_out_norm(feature_out) +
                   kernel_gate * self.kernel_out_norm(kernel_out))
        return self.activation(self.fc_norm(self.fc_layer(updated)))

"""Kernel linking of Video K-Net (Sec. 3.2, Eq. 3)."""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.transformer import FFN, MultiheadAttention
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class KernelLinking(BaseModule):
    """Link the kernels of the key frame to those of a reference frame:
    ``K_l = FFN(MHSA(K_key, K_ref, K_ref) + K_key)``.

    Queries are the key-frame kernels, keys and values the reference-frame kernels, so objects of
    the reference frame are propagated into the key frame through the kernel affinity. During
    training it runs on the thing kernels matched to ground truth; at inference on the kernels of
    the thing segments kept in the panoptic maps of the current and the previous frame. With no
    reference kernels (first frame, or nothing kept there) a frame links to itself.

    ``with_kernel_update=True`` is the official Swin configs' ``previous_type="update"``: the
    reference kernels are first updated (:class:`KernelUpdator`, index-aligned) with the key
    frame's last-stage group features, which ``forward`` then needs.

    Args:
        in_channels (int): kernel channels ``C``.
        num_heads (int): heads of the attention.
        feedforward_channels (int): hidden channels of the FFN.
        num_ffn_fcs (int): FC layers of the FFN.
        dropout (float): dropout of attention and FFN.
        ffn_act_cfg (dict): activation of the FFN.
        with_kernel_update (bool): see above.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 in_channels: int = 256,
                 num_heads: int = 8,
                 feedforward_channels: int = 2048,
                 num_ffn_fcs: int = 2,
                 dropout: float = 0.0,
                 ffn_act_cfg: dict = dict(type='ReLU', inplace=True),
                 with_kernel_update: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.with_kernel_update = with_kernel_update
        self.attention = MultiheadAttention(
            in_channels, num_heads, attn_drop=dropout, proj_drop=dropout, batch_first=True)
        self.attention_norm = build_norm_layer(dict(type='LN'), in_channels)[1]
        self.ffn = FFN(
            in_channels,
            feedforward_channels,
            num_ffn_fcs,
            act_cfg=ffn_act_cfg,
            ffn_drop=dropout)
        self.ffn_norm = build_norm_layer(dict(type='LN'), in_channels)[1]
        if with_kernel_update:
            self.kernel_updator = MODELS.build(
                dict(type='KernelUpdator', in_channels=in_channels, feat_channels=in_channels))

    def init_weights(self) -> None:
        """Xavier initialization of every weight matrix (the paper's choice outside the
        backbone)."""
        super().init_weights()
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)

    def forward(self, key_kernels: Tensor, ref_kernels: Optional[Tensor] = None,
                group_feats: Optional[Tensor] = None) -> Tensor:
        """Args:
            key_kernels (Tensor): ``[N, C]`` or ``[B, N, C]`` kernels of the key frame.
            ref_kernels (Tensor, optional): ``[M, C]`` or ``[B, M, C]`` kernels of the
                reference frame; ``None`` or ``M == 0`` links the key frame to itself.
            group_feats (Tensor, optional): ``[M, C]`` or ``[B, M, C]`` last-stage group
                features of the key frame (``with_kernel_update`` only).

        Returns:
            Tensor: linked kernels ``K_l``, shaped like ``key_kernels``.
        """
        if key_kernels.shape[-1] != self.in_channels:
            raise ValueError(f'KernelLinking expects {self.in_channels}-channel kernels, '
                             f'got {tuple(key_kernels.shape)}')
        unbatched = key_kernels.dim() == 2
        if unbatched:
            key_kernels = key_kernels[None]
            ref_kernels = None if ref_kernels is None else ref_kernels[None]
        if ref_kernels is None or ref_kernels.shape[1] == 0:
            ref_kernels = key_kernels
        elif self.with_kernel_update:
            if group_feats is None:
                raise ValueError('KernelLinking(with_kernel_update=True) needs the key frame\'s '
                                 'group features')
            group_feats = group_feats[None] if unbatched else group_feats
            if group_feats.shape != ref_kernels.shape:
                raise ValueError(f'group features {tuple(group_feats.shape)} and reference '
                                 f'kernels {tuple(ref_kernels.shape)} must be index-aligned')
            ref_kernels = self.kernel_updator(group_feats, ref_kernels)
        linked = self.attention_norm(
            self.attention(query=key_kernels, key=ref_kernels, value=ref_kernels))
        linked = self.ffn_norm(self.ffn(linked))
        return linked[0] if unbatched else linked

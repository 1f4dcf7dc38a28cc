"""Axial attention with relative positional encodings (Axial-DeepLab, as kMaX-DeepLab's pixel
decoder uses it: BD ``kmax_pixel_decoder.py`` 87-199, spec 1.3)."""
from typing import Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor, nn

from mmvps.registry import MODELS
from .kmax_conv_module import KMaXConvModule, kmax_trunc_normal_, norm_cfg_1d

DEFAULT_NORM_CFG = dict(type='SyncBN', eps=1e-3, momentum=0.01)


class RelativePositionalEncoding(nn.Module):
    """A table of ``2 * max_span - 1`` learned embeddings indexed by the relative distance
    ``key - query`` along one axis of fixed length.

    ``forward()`` returns ``[length, length, depth]`` with entry ``[q, k]`` =
    ``embeddings[k - q + max_span - 1]``. Initialised truncated normal, std 1.
    """

    def __init__(self, length: int, depth: int, max_span: int = 255) -> None:
        super().__init__()
        if not 0 < length <= max_span:
            raise ValueError(f'axis length {length} must be in [1, max_span={max_span}]')
        self.length = length
        self.max_span = max_span
        self.embeddings = nn.Parameter(torch.empty(2 * max_span - 1, depth))
        kmax_trunc_normal_(self.embeddings, std=1.0)
        position = torch.arange(length)
        self.register_buffer(
            'relative_index', position[None, :] - position[:, None] + max_span - 1,
            persistent=False)

    def forward(self) -> Tensor:
        return self.embeddings[self.relative_index]


class AxialAttention(nn.Module):
    """Multi-head self-attention along one axis of ``[N, C, L]`` with three relative positional
    terms.

    q / k / v come from one 1x1 conv (no bias) + BN (weight std ``in_channels ** -0.5``). The
    similarity is ``q.k + q.r_q + k.r_k``; each of the ``3 * num_heads`` maps is batch-normalised
    and the three are summed (no ``1/sqrt(d)`` scaling); softmax over keys. The output is
    ``a.v + a.r_v``, the two ``value_channels`` maps batch-normalised and summed.

    Args:
        in_channels: C.
        axis_length: L; fixed, the RPE tables are built for it.
        key_channels / value_channels: total key / value depth over all heads.
        num_heads: heads.
        max_span: RPE table size ``2 * max_span - 1``.
        norm_cfg: norm of q/k/v, similarities and outputs.
    """

    def __init__(self,
                 in_channels: int,
                 axis_length: int,
                 key_channels: int,
                 value_channels: int,
                 num_heads: int = 8,
                 max_span: int = 255,
                 norm_cfg: dict = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        if key_channels % num_heads or value_channels % num_heads:
            raise ValueError(f'key_channels {key_channels} and value_channels {value_channels} '
                             f'must be divisible by num_heads {num_heads}')
        self.axis_length = axis_length
        self.num_heads = num_heads
        self.key_channels = key_channels
        self.value_channels = value_channels
        self.qkv = KMaXConvModule(
            in_channels, 2 * key_channels + value_channels, 1, conv_type='1d',
            conv_init=in_channels**-0.5, bias=False, norm_cfg=norm_cfg, act_cfg=None)
        key_depth, value_depth = key_channels // num_heads, value_channels // num_heads
        self.query_rpe = RelativePositionalEncoding(axis_length, key_depth, max_span)
        self.key_rpe = RelativePositionalEncoding(axis_length, key_depth, max_span)
        self.value_rpe = RelativePositionalEncoding(axis_length, value_depth, max_span)
        self.similarity_norm = build_norm_layer(norm_cfg, 3 * num_heads)[1]
        self.output_norm = build_norm_layer(norm_cfg_1d(norm_cfg), 2 * value_channels)[1]

    def forward(self, x: Tensor) -> Tensor:
        n, _, length = x.shape
        if length != self.axis_length:
            raise ValueError(f'AxialAttention was built for axis length {self.axis_length} (the '
                             f'fixed padded input size) but got {length}')
        h = self.num_heads
        q, k, v = self.qkv(x).split([self.key_channels, self.key_channels, self.value_channels], 1)
        q = q.reshape(n, h, -1, length)
        k = k.reshape(n, h, -1, length)
        v = v.reshape(n, h, -1, length)
        similarity = torch.cat([
            torch.einsum('nhdl,nhdm->nhlm', q, k),
            torch.einsum('nhdl,lmd->nhlm', q, self.query_rpe()),
            torch.einsum('nhdm,lmd->nhlm', k, self.key_rpe()),
        ], dim=1)
        similarity = self.similarity_norm(similarity).reshape(n, 3, h, length, length).sum(1)
        weights = F.softmax(similarity.float(), dim=-1).to(v.dtype)
        output = torch.cat([
            torch.einsum('nhlm,nhdm->nhdl', weights, v),
            torch.einsum('nhlm,lmd->nhdl', weights, self.value_rpe()),
        ], dim=1).reshape(n, 2 * self.value_channels, length)
        return self.output_norm(output).reshape(n, 2, self.value_channels, length).sum(1)


@MODELS.register_module()
class AxialAttention2d(nn.Module):
    """2-D axial attention: the height axis, then the width axis (``[N, C, H, W]`` ->
    ``[N, value_channels, H, W]``).

    Args:
        in_channels: C.
        axis_shape: ``(H, W)`` the attention is built for.
        key_channels / value_channels / num_heads / max_span / norm_cfg: see ``AxialAttention``.
    """

    def __init__(self,
                 in_channels: int,
                 axis_shape: Sequence[int],
                 key_channels: int,
                 value_channels: int,
                 num_heads: int = 8,
                 max_span: int = 255,
                 norm_cfg: dict = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        self.value_channels = value_channels
        self.height_axis = AxialAttention(in_channels, axis_shape[0], key_channels,
                                          value_channels, num_heads, max_span, norm_cfg)
        self.width_axis = AxialAttention(value_channels, axis_shape[1], key_channels,
                                         value_channels, num_heads, max_span, norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        n, c, height, width = x.shape
        x = self.height_axis(x.permute(0, 3, 1, 2).reshape(n * width, c, height))
        x = x.reshape(n, width, self.value_channels, height).permute(0, 3, 2, 1)
        x = self.width_axis(x.reshape(n * height, self.value_channels, width))
        return x.reshape(n, height, self.value_channels, width).permute(0, 2, 1, 3).contiguous()

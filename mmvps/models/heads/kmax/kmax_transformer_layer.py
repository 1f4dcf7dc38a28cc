"""One kMaX transformer decoder layer (BD ``kmax_transformer_decoder.py`` 58-228, spec 1.4):
k-means cross-attention, query self-attention and FFN."""
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

from mmvps.models.layers import KMaXConvModule, norm_cfg_1d
from mmvps.registry import MODELS
from .kmax_predictor import KMaXPredictor
from .kmeans_cross_attention import KMeansCrossAttention

DEFAULT_NORM_CFG = dict(type='SyncBN', eps=1e-3, momentum=0.01)
GELU = dict(type='GELU')


@MODELS.register_module()
class KMaXQuerySelfAttention(nn.Module):
    """Multi-head self-attention among the queries with BN-normalised logits (no ``1/sqrt(d)``).

    q / k / v = conv1d-BN of the query space (std ``query_space_channels ** -0.5``); logits
    batch-normalised per head; softmax; weighted values -> BN -> GELU -> conv1d-BN (scale 0) to
    ``query_channels`` -> drop-path; returns ``queries + update``.

    Args:
        query_space_channels: channels of the query space the attention reads.
        query_channels: D, channels of the queries updated.
        key_channels / value_channels: total depths over the heads.
        num_heads: heads.
        drop_path: drop-path probability.
        norm_cfg: norm config.
    """

    def __init__(self, query_space_channels: int = 256, query_channels: int = 256,
                 key_channels: int = 128, value_channels: int = 256, num_heads: int = 8,
                 drop_path: float = 0.0, norm_cfg: dict = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        if key_channels % num_heads or value_channels % num_heads:
            raise ValueError(f'key_channels {key_channels} and value_channels {value_channels} '
                             f'must be divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.key_channels = key_channels
        self.value_channels = value_channels
        self.qkv = KMaXConvModule(query_space_channels, 2 * key_channels + value_channels, 1,
                                  conv_type='1d', conv_init=query_space_channels**-0.5,
                                  bias=False, norm_cfg=norm_cfg, act_cfg=None)
        self.similarity_norm = build_norm_layer(norm_cfg, num_heads)[1]
        self.value_norm = build_norm_layer(norm_cfg_1d(norm_cfg), value_channels)[1]
        self.out_proj = KMaXConvModule(value_channels, query_channels, 1, conv_type='1d',
                                       bias=False, norm_cfg=norm_cfg, act_cfg=None, norm_init=0.0)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, queries: Tensor, query_space: Tensor) -> Tensor:
        b, _, n = query_space.shape
        h = self.num_heads
        q, k, v = self.qkv(query_space).split(
            [self.key_channels, self.key_channels, self.value_channels], 1)
        similarity = torch.einsum('bhdl,bhdm->bhlm', q.reshape(b, h, -1, n),
                                  k.reshape(b, h, -1, n))
        weights = F.softmax(self.similarity_norm(similarity).float(), dim=-1).to(v.dtype)
        update = torch.einsum('bhlm,bhdm->bhdl', weights, v.reshape(b, h, -1, n))
        update = F.gelu(self.value_norm(update.reshape(b, self.value_channels, n)))
        return queries + self.drop_path(self.out_proj(update))


@MODELS.register_module()
class KMaXFFN(nn.Module):
    """Query FFN: conv1d-BN-GELU to ``ffn_dim``, conv1d-BN (scale 0) back, drop-path, residual.

    Args:
        channels: D. ffn_dim: hidden width. drop_path: probability. norm_cfg: norm config.
    """

    def __init__(self, channels: int = 256, ffn_dim: int = 2048, drop_path: float = 0.0,
                 norm_cfg: dict = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        self.fc1 = KMaXConvModule(channels, ffn_dim, 1, conv_type='1d', bias=False,
                                  norm_cfg=norm_cfg, act_cfg=GELU)
        self.fc2 = KMaXConvModule(ffn_dim, channels, 1, conv_type='1d', bias=False,
                                  norm_cfg=norm_cfg, act_cfg=None, norm_init=0.0)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return x + self.drop_path(self.fc2(self.fc1(x)))


@MODELS.register_module()
class KMaXTransformerLayer(nn.Module):
    """pixel space = conv-BN-GELU(GELU(pixels)); query space = conv1d-BN-GELU(queries); the
    layer's predictor on (query space, pixel space) gives the k-means assignment; then
    k-means cross-attention on the queries, self-attention (from the query space, parallel to
    k-means) + GELU, FFN + GELU.

    Args:
        in_channels: channels of the pixel feature at this layer's stride.
        hidden_dim: D (queries, pixel space, values).
        num_classes: C (without void).
        num_heads: self-attention heads.
        key_dim: total self-attention key depth.
        ffn_dim: FFN width.
        mask_embed_dim / pixel_head_dim: of the layer's predictor.
        drop_path: drop-path of the k-means, self-attention and FFN branches.
        norm_cfg: norm config.
    """

    def __init__(self, in_channels: int, hidden_dim: int = 256, num_classes: int = 133,
                 num_heads: int = 8, key_dim: int = 128, ffn_dim: int = 2048,
                 mask_embed_dim: int = 128, pixel_head_dim: int = 256, drop_path: float = 0.0,
                 norm_cfg: dict = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        self.pixel_proj = KMaXConvModule(in_channels, hidden_dim, 1, bias=False,
                                         norm_cfg=norm_cfg, act_cfg=GELU)
        self.query_proj = KMaXConvModule(hidden_dim, hidden_dim, 1, conv_type='1d', bias=False,
                                         norm_cfg=norm_cfg, act_cfg=GELU)
        self.predictor = KMaXPredictor(hidden_dim, hidden_dim, num_classes, pixel_head_dim,
                                       mask_embed_dim, norm_cfg)
        self.kmeans_attention = KMeansCrossAttention(hidden_dim, hidden_dim, hidden_dim,
                                                     drop_path, norm_cfg)
        self.self_attention = KMaXQuerySelfAttention(hidden_dim, hidden_dim, key_dim,
                                                     hidden_dim, num_heads, drop_path, norm_cfg)
        self.ffn = KMaXFFN(hidden_dim, ffn_dim, drop_path, norm_cfg)

    def forward(self, pixel_feature: Tensor, queries: Tensor,
                num_frames: int = 1) -> Tuple[Tensor, Dict[str, Tensor]]:
        """pixel_feature ``[B, C, T*H, W]`` (stacked clip), queries ``[B, D, N]`` -> (new
        queries, the predictor's outputs of this layer)."""
        pixel_space = self.pixel_proj(F.gelu(pixel_feature))
        query_space = self.query_proj(queries)
        prediction = self.predictor(query_space, query_space, pixel_space, num_frames)
        queries = self.kmeans_attention(queries, pixel_space, prediction['mask_logits'])
        queries = F.gelu(self.self_attention(queries, query_space))
        queries = F.gelu(self.ffn(queries))
        return queries, prediction

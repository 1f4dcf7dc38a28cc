"""kMaX transformer decoder with clip-kMaX's frame stacking (BD ``kmax_transformer_decoder.py``
330-480; MX ``maxtron_transformer_decoder.py`` 529-600; spec 1.4 and 2)."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule, ModuleList
from torch import Tensor, nn

from mmvps.models.layers import KMaXConvModule, kmax_trunc_normal_
from mmvps.registry import MODELS
from .clip_reshape import frames_to_clip
from .kmax_predictor import KMaXPredictor
from .kmax_transformer_layer import KMaXTransformerLayer

DEFAULT_NORM_CFG = dict(type='SyncBN', eps=1e-3, momentum=0.01)
GELU = dict(type='GELU')


def _to_tube(x: Tensor, num_frames: int) -> Tensor:
    """``[B, K, T*H, W]`` -> ``[B, K, T, H, W]``."""
    b, k, th, w = x.shape
    return x.reshape(b, k, num_frames, th // num_frames, w)


def _upsample_tube(x: Tensor, size: Sequence[int]) -> Tensor:
    """Bilinear upsampling of every frame of ``[B, K, T, H, W]`` to ``size`` (= trilinear with an
    unchanged T)."""
    b, k, t, h, w = x.shape
    x = x.permute(0, 2, 1, 3, 4).reshape(b * t, k, h, w)
    x = F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)
    return x.reshape(b, t, k, *size).permute(0, 2, 1, 3, 4)


@MODELS.register_module()
class KMaXTransformerDecoder(BaseModule):
    """N learned cluster centres refined by ``sum(num_layers)`` kMaX layers over the pixel
    decoder's OS32, OS16, OS8 outputs, then the final predictor on the OS4 panoptic feature.

    Clip-kMaX: before every layer and the final predictor the per-frame maps
    ``[B*T, C, H, W]`` are stacked into ``[B, C, T*H, W]``, so the k-means argmax assigns the
    pixels of all frames and a query predicts a tube; ``num_frames=1`` is kMaX-DeepLab. The
    predictor's pixel head runs per frame (see ``KMaXPredictor``).

    Args:
        in_channels: channels of the OS32, OS16, OS8 pixel-decoder outputs.
        panoptic_channels: channels of the OS4 panoptic feature.
        num_classes: C (without void).
        num_queries: N.
        hidden_dim: D.
        num_layers: layers per input stride.
        num_heads: self-attention heads.
        attn_key_dim: total self-attention key depth.
        ffn_dim: FFN width.
        mask_embed_dim: E.
        pixel_head_dim: hidden width of the pixel heads.
        drop_path_rate: drop-path of every layer's branches.
        norm_cfg: norm config.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (2048, 1024, 512),
                 panoptic_channels: int = 256,
                 num_classes: int = 133,
                 num_queries: int = 128,
                 hidden_dim: int = 256,
                 num_layers: Sequence[int] = (2, 2, 2),
                 num_heads: int = 8,
                 attn_key_dim: int = 128,
                 ffn_dim: int = 2048,
                 mask_embed_dim: int = 128,
                 pixel_head_dim: int = 256,
                 drop_path_rate: float = 0.2,
                 norm_cfg: dict = DEFAULT_NORM_CFG,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(num_layers):
            raise ValueError(f'KMaXTransformerDecoder: in_channels {tuple(in_channels)} and '
                             f'num_layers {tuple(num_layers)} must have one entry per stride')
        self.num_classes = num_classes
        self.num_layers = tuple(num_layers)
        self.layers = ModuleList([
            KMaXTransformerLayer(channels, hidden_dim, num_classes, num_heads, attn_key_dim,
                                 ffn_dim, mask_embed_dim, pixel_head_dim, drop_path_rate,
                                 norm_cfg)
            for channels, count in zip(in_channels, num_layers) for _ in range(count)
        ])
        self.cluster_centers = nn.Parameter(torch.empty(hidden_dim, num_queries))
        kmax_trunc_normal_(self.cluster_centers, std=1.0)
        self.class_embed_proj = KMaXConvModule(hidden_dim, hidden_dim, 1, conv_type='1d',
                                               bias=False, norm_cfg=norm_cfg, act_cfg=GELU)
        self.mask_embed_proj = KMaXConvModule(hidden_dim, hidden_dim, 1, conv_type='1d',
                                              bias=False, norm_cfg=norm_cfg, act_cfg=GELU)
        self.predictor = KMaXPredictor(panoptic_channels, hidden_dim, num_classes,
                                       pixel_head_dim, mask_embed_dim, norm_cfg)

    def forward(self, multi_scale_feats: Sequence[Tensor], panoptic_feature: Tensor,
                num_frames: int = 1) -> Dict:
        """``multi_scale_feats``: OS32, OS16, OS8 maps ``[B*T, C_i, H_i, W_i]``;
        ``panoptic_feature`` ``[B*T, C, H4, W4]``. Returns ``class_logits [B, N, C+1]``,
        ``mask_logits [B, N, T, H4, W4]``, ``pixel_feature [B, E, T, H4, W4]``, ``queries
        [B, N, D]`` and ``aux_outputs`` (one dict per layer, upsampled to OS4)."""
        if len(multi_scale_feats) != len(self.num_layers):
            raise ValueError(f'KMaXTransformerDecoder expects {len(self.num_layers)} '
                             f'multi-scale maps, got {len(multi_scale_feats)}')
        batch = panoptic_feature.shape[0] // num_frames
        queries = self.cluster_centers.unsqueeze(0).expand(batch, -1, -1)
        layer_outputs: List[Dict[str, Tensor]] = []
        layer_index = 0
        for feat, count in zip(multi_scale_feats, self.num_layers):
            clip_feat = frames_to_clip(feat, num_frames)
            for _ in range(count):
                queries, prediction = self.layers[layer_index](clip_feat, queries, num_frames)
                layer_outputs.append(prediction)
                layer_index += 1
        final = self.predictor(
            self.mask_embed_proj(queries), self.class_embed_proj(queries),
            frames_to_clip(panoptic_feature, num_frames), num_frames)
        size = panoptic_feature.shape[-2:]
        aux_outputs = [
            dict(class_logits=out['class_logits'],
                 mask_logits=_upsample_tube(_to_tube(out['mask_logits'], num_frames), size),
                 pixel_feature=_upsample_tube(_to_tube(out['pixel_feature'], num_frames), size))
            for out in layer_outputs
        ]
        return dict(
            class_logits=final['class_logits'],
            mask_logits=_to_tube(final['mask_logits'], num_frames),
            pixel_feature=_to_tube(final['pixel_feature'], num_frames),
            queries=queries.transpose(1, 2),
            aux_outputs=aux_outputs)

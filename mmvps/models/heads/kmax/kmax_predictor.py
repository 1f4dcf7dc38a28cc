"""kMaX-DeepLab predictor: class logits, mask logits and the pixel embedding (BD
``kmax_transformer_decoder.py`` 82-119, spec 1.4)."""
import math
from typing import Dict

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor, nn

from mmvps.models.layers import KMaXConvModule
from mmvps.registry import MODELS
from .clip_reshape import clip_to_frames, frames_to_clip

DEFAULT_NORM_CFG = dict(type='SyncBN', eps=1e-3, momentum=0.01)
GELU = dict(type='GELU')


@MODELS.register_module()
class KMaXPredictor(nn.Module):
    """Pixel head + mask kernel + class head.

    Pixel head: depthwise 5x5 conv-BN-GELU -> 1x1 conv-BN-GELU to ``pixel_head_dim`` -> 1x1
    conv(bias)-BN to ``mask_embed_dim`` -> L2 normalisation over channels. The pixel head runs
    **per frame** (the spec's per-frame variant of clip-kMaX): on a clip's stacked map the
    depthwise 5x5 conv would otherwise mix rows across the frame seams, so a clip of identical
    frames would not give identical masks per frame. With ``num_frames=1`` this is the image
    predictor.

    Mask logits = (conv1d-BN mask kernel of the mask embeddings) . (normalised pixel embedding),
    then a 1-channel BN over all logits (scale initialised to 0.1). Class logits = conv1d (bias)
    of the class embeddings to ``num_classes + 1`` (last = void) plus a constant void bias
    ``log(num_classes * 0.9 / 0.1)``.

    Args:
        in_channels: channels of the pixel feature.
        query_channels: channels of the mask / class embeddings.
        num_classes: C (without void).
        pixel_head_dim: hidden width of the pixel head.
        mask_embed_dim: E, the pixel embedding / mask kernel width.
        norm_cfg: norm config.
    """

    def __init__(self, in_channels: int, query_channels: int = 256, num_classes: int = 133,
                 pixel_head_dim: int = 256, mask_embed_dim: int = 128,
                 norm_cfg: dict = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.pixel_conv_dw = KMaXConvModule(
            in_channels, in_channels, 5, padding=2, groups=in_channels, bias=False,
            conv_init='xavier_uniform', norm_cfg=norm_cfg, act_cfg=GELU)
        self.pixel_conv1 = KMaXConvModule(in_channels, pixel_head_dim, 1, bias=False,
                                          norm_cfg=norm_cfg, act_cfg=GELU)
        self.pixel_conv2 = KMaXConvModule(pixel_head_dim, mask_embed_dim, 1, bias=True,
                                          conv_init=0.01, norm_cfg=norm_cfg, act_cfg=None)
        self.mask_head = KMaXConvModule(query_channels, mask_embed_dim, 1, conv_type='1d',
                                        bias=False, norm_cfg=norm_cfg, act_cfg=None)
        self.class_head = KMaXConvModule(query_channels, num_classes + 1, 1, conv_type='1d',
                                         bias=True, conv_init=0.01, norm_cfg=None, act_cfg=None)
        self.mask_norm = build_norm_layer(norm_cfg, 1)[1]
        nn.init.constant_(self.mask_norm.weight, 0.1)
        nn.init.zeros_(self.mask_norm.bias)
        void_bias = torch.zeros(num_classes + 1)
        void_bias[-1] = math.log(num_classes * 0.9 / 0.1)
        self.register_buffer('void_bias', void_bias, persistent=False)

    def forward(self, mask_embeddings: Tensor, class_embeddings: Tensor, pixel_feature: Tensor,
                num_frames: int = 1) -> Dict[str, Tensor]:
        """mask/class embeddings ``[B, D, N]``, pixel_feature ``[B, C, T*H, W]`` (stacked clip)
        -> ``class_logits [B, N, C+1]``, ``mask_logits [B, N, T*H, W]``, ``pixel_feature
        [B, E, T*H, W]`` (unit L2 norm over E)."""
        x = clip_to_frames(pixel_feature, num_frames)
        x = self.pixel_conv2(self.pixel_conv1(self.pixel_conv_dw(x)))
        pixel_embedding = frames_to_clip(F.normalize(x, p=2, dim=1), num_frames)
        class_logits = self.class_head(class_embeddings).transpose(1, 2) + self.void_bias
        mask_kernel = self.mask_head(mask_embeddings)
        mask_logits = torch.einsum('bchw,bcn->bnhw', pixel_embedding, mask_kernel)
        b, n, h, w = mask_logits.shape
        mask_logits = self.mask_norm(mask_logits.reshape(b, 1, n * h, w)).reshape(b, n, h, w)
        return dict(class_logits=class_logits, mask_logits=mask_logits,
                    pixel_feature=pixel_embedding)

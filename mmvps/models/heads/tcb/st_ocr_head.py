"""OCRNet head / TCB-st-ocr head: soft object regions, region vectors blended over frames,
pixel-region relation on the target frame."""
from typing import Optional

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmvps.registry import MODELS
from .st_ppm_head import TCBHeadMixin


@MODELS.register_module()
class ObjectRegionGather(BaseModule):
    """Object region representations (OCR's spatial gather): per class k, the softmax of the
    soft-region logits over the ``h * w`` pixels of one frame weights the pixel features,
    giving ``[B, K, C]`` region vectors (spec tcb.md section 2.3 step 2).

    Args:
        scale (float): multiplies the logits before the softmax. Defaults to 1.
    """

    def __init__(self, scale: float = 1.0, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.scale = scale

    def forward(self, feats: Tensor, soft_regions: Tensor) -> Tensor:
        """``[B, C, h, w]`` pixel features, ``[B, K, h, w]`` region logits -> ``[B, K, C]``."""
        if feats.shape[0] != soft_regions.shape[0] or feats.shape[2:] != soft_regions.shape[2:]:
            raise ValueError(f'ObjectRegionGather: features {tuple(feats.shape)} and soft regions '
                             f'{tuple(soft_regions.shape)} differ in batch or size')
        weights = torch.softmax(self.scale * soft_regions.flatten(2), dim=2)  # [B, K, hw]
        return torch.bmm(weights, feats.flatten(2).transpose(1, 2))


@MODELS.register_module()
class ObjectContextBlock(BaseModule):
    """Pixel-region relation and object context (P Eq. 2-3, the released OCR layout, spec
    tcb.md section 1.3): query = 2x [1x1 conv-BN-ReLU] on the pixels, key = the same on the
    region vectors, value = 1x1 conv-BN-ReLU; relation = softmax over regions of
    ``query . key / sqrt(key_channels)``; context = relation . value, 1x1 conv-BN-ReLU back to
    ``in_channels``; output = 1x1 conv-BN-ReLU of [context, pixels], Dropout2d.

    Args:
        in_channels (int): pixel / region channels (512).
        key_channels (int): query / key / value channels (256).
        out_channels (int): output channels. Defaults to ``in_channels``.
        dropout_ratio (float): Dropout2d after the fuse conv. Defaults to 0.05.
        norm_cfg (dict): norm layer. Defaults to BN.
    """

    def __init__(self, in_channels: int, key_channels: int, out_channels: Optional[int] = None,
                 dropout_ratio: float = 0.05, norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        out_channels = out_channels or in_channels
        self.key_channels = key_channels

        def cbr(cin, cout):
            return ConvModule(cin, cout, 1, norm_cfg=norm_cfg)

        self.query = nn.Sequential(cbr(in_channels, key_channels), cbr(key_channels, key_channels))
        self.key = nn.Sequential(cbr(in_channels, key_channels), cbr(key_channels, key_channels))
        self.value = cbr(in_channels, key_channels)
        self.out = cbr(key_channels, in_channels)
        self.fuse = cbr(2 * in_channels, out_channels)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()

    def relation(self, feats: Tensor, regions: Tensor) -> Tensor:
        """``[B, h*w, K]`` pixel-region relation (softmax over the K regions)."""
        query = self.query(feats).flatten(2).transpose(1, 2)  # [B, hw, c]
        key = self.key(regions.transpose(1, 2).unsqueeze(3)).flatten(2)  # [B, c, K]
        return torch.softmax(torch.bmm(query, key) * self.key_channels**-0.5, dim=2)

    def forward(self, feats: Tensor, regions: Tensor) -> Tensor:
        """``[B, C, h, w]`` pixels and ``[B, K, C]`` regions -> ``[B, out, h, w]``."""
        if regions.dim() != 3 or regions.shape[0] != feats.shape[0] \
                or regions.shape[2] != feats.shape[1]:
            raise ValueError(f'ObjectContextBlock: regions must be [B, K, {feats.shape[1]}] for '
                             f'features {tuple(feats.shape)}, got {tuple(regions.shape)}')
        value = self.value(regions.transpose(1, 2).unsqueeze(3)).flatten(2)  # [B, c, K]
        context = torch.bmm(self.relation(feats, regions), value.transpose(1, 2))  # [B, hw, c]
        context = context.transpose(1, 2).reshape(feats.shape[0], -1, *feats.shape[2:])
        return self.dropout(self.fuse(torch.cat([self.out(context), feats], dim=1)))


@MODELS.register_module()
class STOCRHead(TCBHeadMixin, BaseModule):
    """OCRNet head / TCB-st-ocr head (P Sec. 4.1.1, spec tcb.md sections 1.3, 2.3): pixel
    features X = 3x3 conv-BN-ReLU(layer4) of every frame, region vectors per frame from the
    aux logits (soft regions, not detached), averaged over the frames (P Eq. 1), then the
    object context of the target's pixels and a 1x1 classifier. One frame = OCRNet.

    Args:
        in_channels (int): layer4 channels (2048).
        num_classes (int): classes K.
        channels (int): pixel / region channels. Defaults to 512.
        key_channels (int): attention channels. Defaults to 256.
        dropout_ratio (float): Dropout2d of the object context block. Defaults to 0.05.
        scale (float): soft-region logit scale of the gather. Defaults to 1.
        blending (dict): :class:`TemporalContextBlending` config.
        norm_cfg (dict): norm layer. Defaults to BN.
    """

    def __init__(self, in_channels: int, num_classes: int, channels: int = 512,
                 key_channels: int = 256, dropout_ratio: float = 0.05, scale: float = 1.0,
                 blending: dict = dict(type='TemporalContextBlending'),
                 norm_cfg: dict = dict(type='BN'), init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.pixel_conv = ConvModule(in_channels, channels, 3, padding=1, norm_cfg=norm_cfg)
        self.gather = ObjectRegionGather(scale)
        self.blending = MODELS.build(blending)
        self.object_context = ObjectContextBlock(channels, key_channels,
                                                 dropout_ratio=dropout_ratio, norm_cfg=norm_cfg)
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)
        self.num_classes = num_classes

    def frame_features(self, x: Tensor, soft_regions: Optional[Tensor] = None):
        """Per frame: pixel features X and region vectors ``[B, K, C]``."""
        if soft_regions is None:
            raise ValueError('STOCRHead needs the soft object regions (aux logits) of every frame')
        pixels = self.pixel_conv(x)
        return pixels, self.gather(pixels, soft_regions)

    def decode(self, pixels: Tensor, regions: Tensor) -> Tensor:
        """Target pixels ``[B, C, h, w]`` and blended regions ``[B, K, C]`` -> logits."""
        return self.conv_seg(self.object_context(pixels, regions))

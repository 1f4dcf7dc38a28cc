"""Auxiliary FCN head of PSPNet / OCRNet (deep supervision on layer3; OCR's soft regions)."""
from typing import Optional

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmvps.registry import MODELS


@MODELS.register_module()
class FCNAuxHead(BaseModule):
    """3x3 conv-BN-ReLU, Dropout2d, 1x1 classifier: class logits of a backbone stage.

    PSPNet's deep supervision (dropout 0.1) and OCRNet's "dsn" head whose logits are also the
    soft object regions (dropout 0.05) (spec tcb.md sections 1.2, 1.3).

    Args:
        in_channels (int): input channels (1024 for ResNet-101 layer3).
        channels (int): hidden channels. Defaults to 512.
        num_classes (int): classes K.
        dropout_ratio (float): Dropout2d probability. Defaults to 0.1.
        norm_cfg (dict): norm layer. Defaults to BN.
    """

    def __init__(self, in_channels: int, num_classes: int, channels: int = 512,
                 dropout_ratio: float = 0.1, norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.conv = ConvModule(in_channels, channels, 3, padding=1, norm_cfg=norm_cfg)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)
        self.num_classes = num_classes

    def forward(self, x: Tensor) -> Tensor:
        """``[B, C, h, w]`` features -> ``[B, K, h, w]`` logits."""
        return self.conv_seg(self.dropout(self.conv(x)))

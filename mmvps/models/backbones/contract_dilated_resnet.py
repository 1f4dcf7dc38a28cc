"""Dilated ResNet whose first block in a dilated stage uses half the stage dilation."""
from mmdet.models.backbones import ResNet
from mmdet.models.backbones.resnet import Bottleneck

from mmvps.registry import MODELS


@MODELS.register_module()
class ContractDilatedResNet(ResNet):
    """mmdet's :class:`ResNet` with "contract dilation": the dilated 3x3 conv of the first block
    of every stage with dilation ``d > 1`` (``conv2`` of a Bottleneck, ``conv1`` of a
    BasicBlock) uses dilation (and padding) ``d // 2``.

    This is the output-stride-8 layout of the CSAIL semseg ResNet that TCB's released code uses
    (a strided 3x3 conv turned into one with dilation d/2, the others d) and of mmseg's
    ``ResNetV1c(contract_dilation=True)``; mmdet gives every block its stage dilation. All
    arguments are mmdet ``ResNet``'s; set ``strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)``
    for output stride 8.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for dilation, layer_name in zip(self.dilations, self.res_layers):
            if dilation <= 1:
                continue
            first = getattr(self, layer_name)[0]
            conv = first.conv2 if isinstance(first, Bottleneck) else first.conv1
            if conv.kernel_size != (3, 3) or conv.dilation != (dilation, dilation):
                raise ValueError(f'ContractDilatedResNet: expected a 3x3 conv of dilation '
                                 f'{dilation} in the first block of {layer_name}, got kernel '
                                 f'{conv.kernel_size} dilation {conv.dilation}')
            conv.dilation = (dilation // 2, dilation // 2)
            conv.padding = (dilation // 2, dilation // 2)

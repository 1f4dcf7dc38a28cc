from .contract_dilated_resnet import ContractDilatedResNet
from .convnext import ConvNeXt, convert_convnext_state_dict

__all__ = ['ContractDilatedResNet', 'ConvNeXt', 'convert_convnext_state_dict']

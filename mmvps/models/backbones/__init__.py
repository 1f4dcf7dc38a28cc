from .convnext import ConvNeXt, convert_convnext_state_dict

__all__ = ['ConvNeXt', 'convert_convnext_state_dict']

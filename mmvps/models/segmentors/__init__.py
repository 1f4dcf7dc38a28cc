from .knet import KNet

__all__ = ['KNet']

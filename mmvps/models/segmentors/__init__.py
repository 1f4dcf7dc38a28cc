from .clip_kmax import ClipKMaX
from .knet import KNet

__all__ = ['ClipKMaX', 'KNet']

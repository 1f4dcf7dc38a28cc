from .kmax_pixel_decoder import KMaXPixelDecoder
from .semantic_fpn import SemanticFPN

__all__ = ['KMaXPixelDecoder', 'SemanticFPN']

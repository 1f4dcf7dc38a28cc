from .flow_align_attend_fusion import FlowAlignAttendFusion
from .kmax_pixel_decoder import KMaXPixelDecoder
from .semantic_fpn import SemanticFPN

__all__ = ['FlowAlignAttendFusion', 'KMaXPixelDecoder', 'SemanticFPN']

"""Heads of PSPNet / OCRNet and Temporal Context Blending (VSPW, CVPR 2021)."""
from .fcn_aux_head import FCNAuxHead
from .st_ocr_head import ObjectContextBlock, ObjectRegionGather, STOCRHead
from .st_ppm_head import PyramidPoolingModule, STPPMHead
from .temporal_blending import FrameContextCache, ObjectRegionMemory, TemporalContextBlending

__all__ = [
    'FCNAuxHead', 'FrameContextCache', 'ObjectContextBlock', 'ObjectRegionGather',
    'ObjectRegionMemory', 'PyramidPoolingModule', 'STOCRHead', 'STPPMHead',
    'TemporalContextBlending'
]

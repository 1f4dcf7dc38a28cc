"""PanopticFCN (Li et al., CVPR 2021) and Clip-PanoFCN (Miao et al., CVPR 2022) parts."""
from .clip_kernel_fusion import ClipKernelFusion
from .clip_mask_merger import ClipMaskMerger

__all__ = ['ClipKernelFusion', 'ClipMaskMerger']

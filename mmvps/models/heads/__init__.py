from .conv_kernel_head import ConvKernelHead
from .kmax import ClipPanopticPostProcessor, KMaXCriterion, get_clip_panoptic_targets
from .kernel_fusion import KernelFusion
from .kernel_iter_head import KernelIterHead
from .kernel_linking import KernelLinking
from .kernel_update_head import KernelUpdateHead, assemble_group_features
from .kernel_updator import KernelUpdator
from .panoptic_kernel_targets import get_kernel_targets, get_panoptic_gt

__all__ = [
    'ClipPanopticPostProcessor', 'ConvKernelHead', 'KMaXCriterion', 'KernelFusion',
    'KernelIterHead', 'KernelLinking', 'KernelUpdateHead', 'KernelUpdator',
    'assemble_group_features', 'get_clip_panoptic_targets', 'get_kernel_targets', 'get_panoptic_gt'
]

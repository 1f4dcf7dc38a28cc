from . import kmax, panoptic_fcn, tcb
from .conv_kernel_head import ConvKernelHead
from .kernel_fusion import KernelFusion
from .kernel_iter_head import KernelIterHead
from .kernel_linking import KernelLinking
from .kernel_update_head import KernelUpdateHead, assemble_group_features
from .kernel_updator import KernelUpdator
from .knet_match_costs import KNetDiceCost, KNetMaskCost
from .kmax import *  # noqa: F401,F403
from .panoptic_fcn import *  # noqa: F401,F403
from .panoptic_kernel_targets import get_kernel_targets, get_panoptic_gt
from .tcb import *  # noqa: F401,F403

__all__ = [
    'ConvKernelHead', 'KernelFusion', 'KernelIterHead', 'KernelLinking', 'KernelUpdateHead',
    'KernelUpdator', 'KNetDiceCost', 'KNetMaskCost', 'assemble_group_features',
    'get_kernel_targets', 'get_panoptic_gt'
] + kmax.__all__ + panoptic_fcn.__all__ + tcb.__all__

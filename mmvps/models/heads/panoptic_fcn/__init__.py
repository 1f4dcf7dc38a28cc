"""PanopticFCN / Clip-PanoFCN (VIPSeg baseline) heads and the clip-level inference parts."""
from .clip_feature_fusion import ClipFeatureFusion
from .clip_gt import get_clip_instance_gts
from .clip_kernel_fusion import ClipKernelFusion
from .clip_mask_merger import ClipMaskMerger
from .layers import (ConvTower, FeatureEncoder, KernelHead, KernelProjector, PositionHead,
                     add_coord_channels)
from .panoptic_fcn_head import PanopticFCNHead
from .target_generator import PanopticFCNTargetGenerator, cornernet_radius, draw_gaussian

__all__ = [
    'ClipFeatureFusion', 'ClipKernelFusion', 'ClipMaskMerger', 'ConvTower', 'FeatureEncoder',
    'KernelHead', 'KernelProjector', 'PositionHead', 'add_coord_channels', 'PanopticFCNHead',
    'PanopticFCNTargetGenerator', 'cornernet_radius', 'draw_gaussian', 'get_clip_instance_gts'
]

"""PanopticFCN / Clip-PanoFCN (VIPSeg baseline) heads."""
from .layers import (ConvTower, FeatureEncoder, KernelHead, KernelProjector, PositionHead,
                     add_coord_channels)
from .panoptic_fcn_head import PanopticFCNHead
from .target_generator import PanopticFCNTargetGenerator, cornernet_radius, draw_gaussian

__all__ = [
    'ConvTower', 'FeatureEncoder', 'KernelHead', 'KernelProjector', 'PositionHead',
    'add_coord_channels', 'PanopticFCNHead', 'PanopticFCNTargetGenerator', 'cornernet_radius',
    'draw_gaussian'
]

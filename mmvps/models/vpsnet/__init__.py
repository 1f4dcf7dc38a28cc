"""VPSNet (Kim et al., CVPR 2020): image panoptic base, track head, trackers, video model."""
from .panoptic_logits_head import PanopticLogitsHead
from .track_head import VPSNetTrackHead
from .trackers import (ClassSortTracker, IoUMatchTracker, PerFrameIdTracker, VPSNetTracker,
                       warp_id_map)
from .upsnet_semantic_head import UPSNetSemanticHead
from .vpsnet import VPSNet
from .vpsnet_roi_head import VPSNetRoIHead

__all__ = [
    'ClassSortTracker', 'IoUMatchTracker', 'PanopticLogitsHead', 'PerFrameIdTracker',
    'UPSNetSemanticHead', 'VPSNet', 'VPSNetRoIHead', 'VPSNetTrackHead', 'VPSNetTracker',
    'warp_id_map'
]

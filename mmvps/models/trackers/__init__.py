from .hila_memory_buffer import HiLAMemoryBuffer
from .inter_clip_kernel_tracker import InterClipKernelTracker, match_with_cost_limit
from .quasi_dense_kernel_tracker import QuasiDenseKernelTracker
from .video_stitching import (VideoStitching, masks_to_normalized_boxes,
                              segment_map_to_normalized_boxes)

__all__ = [
    'HiLAMemoryBuffer', 'InterClipKernelTracker', 'QuasiDenseKernelTracker', 'VideoStitching',
    'masks_to_normalized_boxes', 'match_with_cost_limit', 'segment_map_to_normalized_boxes'
]

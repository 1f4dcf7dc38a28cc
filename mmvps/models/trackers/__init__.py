from .hila_memory_buffer import HiLAMemoryBuffer
from .quasi_dense_kernel_tracker import QuasiDenseKernelTracker
from .video_stitching import (VideoStitching, masks_to_normalized_boxes,
                              segment_map_to_normalized_boxes)

__all__ = [
    'HiLAMemoryBuffer', 'QuasiDenseKernelTracker', 'VideoStitching', 'masks_to_normalized_boxes',
    'segment_map_to_normalized_boxes'
]

"""Pure-numpy metric core: streaming accumulators of PQ / VPQ / STQ and VSPW mIoU / VC."""
from .panoptic_quality import PanopticCounts, match_tubes
from .segment_pairs import count_index_pairs, count_segment_pairs
from .video_panoptic import WINDOW_PRESETS, VideoPanopticAccumulator
from .video_semseg import VideoSemSegAccumulator

__all__ = [
    'WINDOW_PRESETS', 'VideoPanopticAccumulator', 'VideoSemSegAccumulator', 'PanopticCounts',
    'match_tubes', 'count_segment_pairs', 'count_index_pairs'
]

from .clip_panoptic_post_processor import ClipPanopticPostProcessor
from .clip_targets import get_clip_panoptic_targets
from .kmax_criterion import KMaXCriterion

__all__ = ['ClipPanopticPostProcessor', 'KMaXCriterion', 'get_clip_panoptic_targets']

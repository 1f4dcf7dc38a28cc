from .base_video_stream_metric import BaseVideoStreamMetric
from .video_panoptic_metric import VideoPanopticMetric
from .video_semseg_metric import VideoSemSegMetric

__all__ = ['BaseVideoStreamMetric', 'VideoPanopticMetric', 'VideoSemSegMetric']

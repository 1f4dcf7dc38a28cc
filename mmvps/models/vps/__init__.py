from .base_clip_video_model import BaseClipVideoModel, ClipPrediction
from .tcb_segmentor import TCBSegmentor
from .video_kmax import VideoKMaX
from .video_knet import VideoKNet

__all__ = ['BaseClipVideoModel', 'ClipPrediction', 'TCBSegmentor', 'VideoKMaX', 'VideoKNet']

from .base_clip_video_model import BaseClipVideoModel, ClipPrediction
from .clip_panoptic_fcn import ClipPanopticFCN
from .tcb_segmentor import TCBSegmentor
from .video_kmax import VideoKMaX
from .video_knet import VideoKNet

__all__ = ['BaseClipVideoModel', 'ClipPanopticFCN', 'ClipPrediction', 'TCBSegmentor',
           'VideoKMaX', 'VideoKNet']

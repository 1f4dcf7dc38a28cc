from .video_knet import VideoKNet

__all__ = ['VideoKNet']

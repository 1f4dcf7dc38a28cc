from .exporters import SUBMISSION_EXPORTERS, labels_to_official
from .metrics import BaseVideoStreamMetric, VideoPanopticMetric, VideoSemSegMetric

__all__ = [
    'SUBMISSION_EXPORTERS', 'labels_to_official', 'BaseVideoStreamMetric', 'VideoPanopticMetric',
    'VideoSemSegMetric'
]

from .formatting import PackVideoPanopticInputs
from .frame_sampling import VideoClipSample, video_clip_starts
from .loading import LoadImageFromFile, LoadVideoPanopticAnnotations
from .transforms import FilterTrackAnnotations

__all__ = [
    'PackVideoPanopticInputs', 'VideoClipSample', 'video_clip_starts', 'FilterTrackAnnotations',
    'LoadVideoPanopticAnnotations', 'LoadImageFromFile'
]

from .formatting import PackVideoPanopticInputs
from .frame_sampling import TemporalOffsetFrameSample, VideoClipSample, video_clip_starts
from .loading import LoadImageFromFile, LoadVideoPanopticAnnotations
from .transforms import FilterAssociationFreeClips, FilterTrackAnnotations

__all__ = [
    'PackVideoPanopticInputs', 'TemporalOffsetFrameSample', 'VideoClipSample',
    'video_clip_starts', 'FilterTrackAnnotations', 'FilterAssociationFreeClips', 'LoadVideoPanopticAnnotations', 'LoadImageFromFile'
]

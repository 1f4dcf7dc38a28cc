"""Video datasets, their transforms and samplers, the official file formats
(:mod:`.formats`) and class lists (:mod:`.classes`). Exports are lazy (see :mod:`mmvps._lazy`)
so that ``import mmvps.datasets.formats`` does not import torch / mmdet."""
from mmvps._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, dict(
    base_video_panoptic_dataset=['BaseVideoPanopticDataset', 'panoptic_metainfo'],
    cityscapes_sequence_fuse_dataset=['CityscapesSequenceFuseDataset'],
    cityscapes_vps_dataset=['CityscapesVPSDataset'],
    step_dataset=['KITTISTEPDataset', 'MOTChallengeSTEPDataset'],
    synthetic=['SyntheticVPSDataset', 'generate_synthetic_vps'],
    synthetic_vss=['SyntheticVSSDataset', 'generate_synthetic_vss'],
    viper_vps_dataset=['VIPERVPSDataset'],
    video_panoptic_dataset=['VideoPanopticDataset'],
    vipseg_dataset=['VIPSegDataset'],
    vspw_dataset=['VSPWDataset'],
    samplers=['VideoBalancedTestSampler', 'balance_videos'],
    transforms=['PackVideoPanopticInputs', 'TemporalOffsetFrameSample', 'VideoClipSample',
                'video_clip_starts', 'FilterTrackAnnotations', 'LoadVideoPanopticAnnotations',
                'LoadImageFromFile']))

from .base_video_panoptic_dataset import BaseVideoPanopticDataset, panoptic_metainfo
from .cityscapes_vps_dataset import CityscapesVPSDataset
from .samplers import *  # noqa: F401,F403
from .step_dataset import KITTISTEPDataset, MOTChallengeSTEPDataset
from .synthetic import SyntheticVPSDataset, generate_synthetic_vps
from .transforms import *  # noqa: F401,F403
from .viper_vps_dataset import VIPERVPSDataset
from .vipseg_dataset import VIPSegDataset
from .vspw_dataset import VSPWDataset

__all__ = [
    'BaseVideoPanopticDataset', 'panoptic_metainfo', 'VIPSegDataset', 'VSPWDataset',
    'CityscapesVPSDataset', 'KITTISTEPDataset', 'MOTChallengeSTEPDataset', 'VIPERVPSDataset',
    'SyntheticVPSDataset', 'generate_synthetic_vps'
]

"""mmvps: video panoptic segmentation on OpenMMLab (mmengine / mmcv / mmdet 3.x)."""
from .version import __version__

__all__ = ['__version__']

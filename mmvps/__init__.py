"""mmvps: video panoptic segmentation on OpenMMLab (mmengine / mmcv / mmdet 3.x).

Importing mmvps is enough for another OpenMMLab project: it creates the mmvps registries
(children of mmdet's, so ``custom_imports=dict(imports=['mmvps'])`` + ``type='mmvps.X'`` builds
mmvps modules) and allow-lists the globals of mmengine checkpoints for torch's
``weights_only`` loading (see :mod:`mmvps.utils.checkpoint_globals`).
"""
from . import registry  # noqa: F401
from .utils import allow_mmengine_checkpoint_globals
from .version import __version__

allow_mmengine_checkpoint_globals()

__all__ = ['__version__']

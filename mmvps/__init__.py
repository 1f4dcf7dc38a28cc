"""mmvps: video panoptic segmentation on OpenMMLab (mmengine / mmcv / mmdet 3.x).

Like ``import mmdet``, ``import mmvps`` is light (no torch, no mmdet), so that the numpy metric
core and the file formats load fast. The registries live in :mod:`mmvps.registry` (children of
mmdet's); mmengine imports it for every build in the ``mmvps`` scope (``default_scope='mmvps'``
or ``type='mmvps.X'`` from another project with ``custom_imports=dict(imports=['mmvps'])``), and
importing it also allow-lists the globals of mmengine checkpoints for torch's ``weights_only``
loading (:mod:`mmvps.utils.checkpoint_globals`).
"""
from .version import __version__

__all__ = ['__version__']

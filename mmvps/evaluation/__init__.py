"""Evaluation: the pure-numpy metric core (:mod:`.functional`), its mmengine metrics
(:mod:`.metrics`) and the submission exporters. Exports are lazy (see :mod:`mmvps._lazy`) so
that ``import mmvps.evaluation.functional`` does not import torch."""
from mmvps._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, dict(
    exporters=['SUBMISSION_EXPORTERS', 'labels_to_official'],
    metrics=['BaseVideoStreamMetric', 'VideoPanopticMetric', 'VideoSemSegMetric']))

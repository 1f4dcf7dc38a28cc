from .class_check_hook import ClassCheckHook
from .visualization_hook import VideoPanopticVisualizationHook

__all__ = ['ClassCheckHook', 'VideoPanopticVisualizationHook']

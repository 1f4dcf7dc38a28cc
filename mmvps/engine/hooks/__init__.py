from .visualization_hook import VideoPanopticVisualizationHook

__all__ = ['VideoPanopticVisualizationHook']

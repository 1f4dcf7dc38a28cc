from .cpu_distributed import (CPUDistributedDataParallel, close_distributed,
                              init_cpu_distributed)
from .hooks import VideoPanopticVisualizationHook

__all__ = [
    'CPUDistributedDataParallel', 'init_cpu_distributed', 'close_distributed',
    'VideoPanopticVisualizationHook'
]

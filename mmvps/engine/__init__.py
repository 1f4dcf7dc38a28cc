from .cpu_distributed import (CPUDistributedDataParallel, close_distributed,
                              init_cpu_distributed)
from .hooks import ClassCheckHook, VideoPanopticVisualizationHook

__all__ = [
    'CPUDistributedDataParallel', 'init_cpu_distributed', 'close_distributed',
    'ClassCheckHook', 'VideoPanopticVisualizationHook'
]

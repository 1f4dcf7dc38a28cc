from .cpu_distributed import CPUDistributedDataParallel, init_cpu_distributed
from .hooks import VideoPanopticVisualizationHook

__all__ = ['CPUDistributedDataParallel', 'init_cpu_distributed', 'VideoPanopticVisualizationHook']

from .cpu_distributed import (CPUDistributedDataParallel, close_distributed,
                              init_cpu_distributed)
from .hooks import (CheckpointLoadCheckHook, ClassCheckHook, VideoPanopticVisualizationHook,
                    add_checkpoint_check, check_checkpoint_file)

__all__ = [
    'CPUDistributedDataParallel', 'init_cpu_distributed', 'close_distributed',
    'CheckpointLoadCheckHook', 'ClassCheckHook', 'VideoPanopticVisualizationHook',
    'add_checkpoint_check', 'check_checkpoint_file'
]

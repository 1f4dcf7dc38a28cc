from .cpu_distributed import (CPUDistributedDataParallel, close_distributed,
                              init_cpu_distributed)
from .hooks import (CheckpointLoadCheckHook, VideoPanopticVisualizationHook,
                    add_checkpoint_check, check_checkpoint_file)

__all__ = [
    'CPUDistributedDataParallel', 'init_cpu_distributed', 'close_distributed',
    'VideoPanopticVisualizationHook', 'CheckpointLoadCheckHook', 'add_checkpoint_check',
    'check_checkpoint_file'
]

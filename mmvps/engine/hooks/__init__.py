from .checkpoint_check_hook import (CheckpointLoadCheckHook, add_checkpoint_check,
                                    check_checkpoint_file)
from .visualization_hook import VideoPanopticVisualizationHook

__all__ = [
    'VideoPanopticVisualizationHook', 'CheckpointLoadCheckHook', 'add_checkpoint_check',
    'check_checkpoint_file'
]

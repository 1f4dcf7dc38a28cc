from .checkpoint_check_hook import (CheckpointLoadCheckHook, add_checkpoint_check,
                                    check_checkpoint_file)
from .class_check_hook import ClassCheckHook
from .visualization_hook import VideoPanopticVisualizationHook

__all__ = [
    'CheckpointLoadCheckHook', 'ClassCheckHook', 'VideoPanopticVisualizationHook',
    'add_checkpoint_check', 'check_checkpoint_file'
]

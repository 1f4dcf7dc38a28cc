from .checkpoint_globals import CHECKPOINT_GLOBALS, allow_mmengine_checkpoint_globals
from .setup_env import register_all_modules

__all__ = ['register_all_modules', 'allow_mmengine_checkpoint_globals', 'CHECKPOINT_GLOBALS']

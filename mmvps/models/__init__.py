from . import (heads, losses, necks, segmentors, task_modules, track_heads,  # noqa: F401
               trackers, vps)
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
from .track_heads import *  # noqa: F401,F403
from .trackers import *  # noqa: F401,F403
from .vps import *  # noqa: F401,F403

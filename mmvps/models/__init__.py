from . import (backbones, heads, layers, losses, necks, segmentors,  # noqa: F401
               task_modules, track_heads, trackers, vps, vpsnet)
from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from . import flow, ops  # noqa: F401,E402  (VPSNet Fuse: flow estimators, ops)
from .flow import *  # noqa: F401,F403,E402
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
from .track_heads import *  # noqa: F401,F403
from .trackers import *  # noqa: F401,F403
from .vps import *  # noqa: F401,F403
from .vpsnet import *  # noqa: F401,F403

from .correlation import local_correlation
from .warp import channel_norm, flow_warp

__all__ = ['channel_norm', 'flow_warp', 'local_correlation']

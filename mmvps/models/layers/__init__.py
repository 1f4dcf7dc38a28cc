from .axial_attention import AxialAttention, AxialAttention2d, RelativePositionalEncoding
from .flow_refiner import FlowRefiner
from .kmax_blocks import AxialBlock, KMaXBottleneckBlock
from .kmax_conv_module import KMaXConvModule, kmax_trunc_normal_, norm_cfg_1d
from .layer_norm_2d import LayerNorm2d
from .resized_fuse import ResizedFuse
from .temporal_spatial_attention import TemporalSpatialAttentionFusion

__all__ = [
    'AxialAttention', 'AxialAttention2d', 'AxialBlock', 'FlowRefiner', 'KMaXBottleneckBlock',
    'KMaXConvModule', 'LayerNorm2d', 'RelativePositionalEncoding', 'ResizedFuse',
    'TemporalSpatialAttentionFusion', 'kmax_trunc_normal_', 'norm_cfg_1d'
]

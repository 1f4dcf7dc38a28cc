from .axial_attention import AxialAttention, AxialAttention2d, RelativePositionalEncoding
from .kmax_blocks import AxialBlock, KMaXBottleneckBlock
from .kmax_conv_module import KMaXConvModule, kmax_trunc_normal_, norm_cfg_1d
from .layer_norm_2d import LayerNorm2d
from .resized_fuse import ResizedFuse

__all__ = [
    'AxialAttention', 'AxialAttention2d', 'AxialBlock', 'KMaXBottleneckBlock', 'KMaXConvModule',
    'LayerNorm2d', 'RelativePositionalEncoding', 'ResizedFuse', 'kmax_trunc_normal_',
    'norm_cfg_1d'
]

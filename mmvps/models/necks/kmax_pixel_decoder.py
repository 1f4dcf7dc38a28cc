"""kMaX-DeepLab pixel decoder (BD ``kmax_pixel_decoder.py`` 300-382, spec 1.3)."""
from typing import List, Optional, Sequence, Tuple

from mmengine.model import BaseModule, ModuleList
from torch import Tensor, nn

from mmvps.models.layers import AxialBlock, KMaXBottleneckBlock, LayerNorm2d, ResizedFuse
from mmvps.registry import MODELS

DEFAULT_NORM_CFG = dict(type='SyncBN', eps=1e-3, momentum=0.01)


@MODELS.register_module()
class KMaXPixelDecoder(BaseModule):
    """Per-frame pixel decoder from the coarsest backbone level to the finest.

    Every backbone level is LayerNorm'd (channels first, eps 1e-6). Stage ``i`` (coarsest first)
    is a group of ``num_blocks[i]`` axial or bottleneck blocks of base width ``channels[i]``
    (output ``4 * channels[i]``); between stages a ``ResizedFuse`` merges the upsampled previous
    output with the next backbone level. The COCO/VIPSeg layout has 4 stages (OS32 -> OS4); the
    Cityscapes layout adds a 5th OS2 stage: pass 5 ``in_channels`` (stem first), 5 entries in
    the per-stage tuples and 5 feature maps.

    Args:
        in_channels: backbone channels, finest level first (OS4 ... OS32).
        channels: base widths ``f`` per stage, coarsest first.
        num_blocks: blocks per stage, coarsest first.
        block_types: ``'axial'`` or ``'bottleneck'`` per stage, coarsest first.
        num_heads: heads of the axial attention.
        input_size: ``(H, W)`` fixed padded input size; axial stage ``i`` is built for
            ``ceil(H / s), ceil(W / s)`` with ``s`` its output stride.
        drop_path_rate: drop-path of every block (0 in kMaX).
        norm_cfg: norm of all conv-BN layers.
        init_cfg: mmengine init config.

    ``forward(feats)`` (``feats`` finest first, ``[B*T, C_i, H_i, W_i]``) returns
    ``(multi_scale_feats, panoptic_feature)``: the first three stage outputs (OS32, OS16, OS8 in
    the default layout) and the last one (OS4).
    """

    def __init__(self,
                 in_channels: Sequence[int] = (256, 512, 1024, 2048),
                 channels: Sequence[int] = (512, 256, 128, 64),
                 num_blocks: Sequence[int] = (1, 5, 1, 1),
                 block_types: Sequence[str] = ('axial', 'axial', 'bottleneck', 'bottleneck'),
                 num_heads: int = 8,
                 input_size: Optional[Sequence[int]] = None,
                 drop_path_rate: float = 0.0,
                 norm_cfg: dict = DEFAULT_NORM_CFG,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        num_stages = len(in_channels)
        if not 4 <= num_stages <= 5 or not (
                len(channels) == len(num_blocks) == len(block_types) == num_stages):
            raise ValueError(
                f'KMaXPixelDecoder: in_channels, channels, num_blocks and block_types must all '
                f'have 4 (or 5 with the OS2 stage) entries, got {len(in_channels)}, '
                f'{len(channels)}, {len(num_blocks)}, {len(block_types)}')
        if 'axial' in block_types and input_size is None:
            raise ValueError('KMaXPixelDecoder: axial stages need input_size=(H, W), the fixed '
                             'padded input size')
        self.num_stages = num_stages
        in_channels = list(in_channels)[::-1]  # coarsest first, like the stages
        self.input_norms = ModuleList([LayerNorm2d(c) for c in in_channels])
        self.stages = ModuleList()
        self.resized_fuses = ModuleList()
        for i in range(num_stages):
            stride = 32 // 2**i
            if i > 0:
                self.resized_fuses.append(
                    ResizedFuse(4 * channels[i - 1], in_channels[i], channels[i], norm_cfg))
            blocks = []
            block_in = in_channels[0] if i == 0 else channels[i]
            for _ in range(num_blocks[i]):
                if block_types[i] == 'axial':
                    axis_shape = [-(-size // stride) for size in input_size]
                    blocks.append(AxialBlock(block_in, channels[i], axis_shape, num_heads,
                                             drop_path_rate, norm_cfg))
                elif block_types[i] == 'bottleneck':
                    blocks.append(
                        KMaXBottleneckBlock(block_in, channels[i], drop_path_rate, norm_cfg))
                else:
                    raise ValueError(f"KMaXPixelDecoder: block type must be 'axial' or "
                                     f"'bottleneck', got {block_types[i]!r}")
                block_in = 4 * channels[i]
            self.stages.append(nn.Sequential(*blocks))

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], Tensor]:
        if len(feats) != self.num_stages:
            raise ValueError(f'KMaXPixelDecoder expects {self.num_stages} feature maps (finest '
                             f'first), got {len(feats)}')
        feats = list(feats)[::-1]
        outputs = []
        x = self.input_norms[0](feats[0])
        for i in range(self.num_stages):
            if i > 0:
                x = self.resized_fuses[i - 1](x, self.input_norms[i](feats[i]))
            x = self.stages[i](x)
            outputs.append(x)
        return outputs[:3], outputs[-1]

from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class ZeroFlow(BaseModule):
    """phi = 0: the alignment then rests on the learned refinement alone (``FlowRefiner`` reaches
    ``max_displacement`` pixels of its grid, +-16 input pixels at P2 with d = 4)."""

    def forward(self, key_img: Tensor, ref_img: Optional[Tensor] = None) -> Tensor:
        b, _, h, w = key_img.shape
        return key_img.new_zeros(b, 2, h, w)

from typing import Tuple

import torch.nn.functional as F
from torch import Tensor


def resize_flow(flow: Tensor, size: Tuple[int, int]) -> Tensor:
    """Bilinearly resize ``flow`` ``[B, 2, h, w]`` to ``size`` and scale x by ``W / w`` and y by
    ``H / h`` so the values are pixels of the new grid (VPSNet: image flow x0.25 to P2)."""
    height, width = flow.shape[-2:]
    if (height, width) == tuple(size):
        return flow
    out = F.interpolate(flow, size=size, mode='bilinear', align_corners=False)
    scale = out.new_tensor([size[1] / width, size[0] / height]).view(1, 2, 1, 1)
    return out * scale

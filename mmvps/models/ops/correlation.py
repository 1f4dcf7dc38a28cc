"""Local correlation (cost volume) in plain PyTorch: ``mmcv.ops.Correlation`` of mmcv 2.1 has no
CPU kernel, and the FlowNet2 / VPSNet correlation layers are custom CUDA."""
import torch
import torch.nn.functional as F
from torch import Tensor


def local_correlation(feat1: Tensor, feat2: Tensor, max_displacement: int,
                      stride: int = 1) -> Tensor:
    """Correlate each pixel of ``feat1`` with the pixels of ``feat2`` around it.

    Output channel ``(dy // stride + r) * (2r + 1) + (dx // stride + r)`` (``r = max_displacement
    // stride``; dy, dx in ``-r*stride .. r*stride`` step ``stride``, row-major in (dy, dx)) holds
    ``mean_c feat1[c, y, x] * feat2[c, y + dy, x + dx]``, zero where ``(y + dy, x + dx)`` is
    outside ``feat2``. This is the FlowNet / VPSNet CUDA correlation with a 1x1 patch, stride1 1,
    ``pad_size = max_displacement`` (stride2 = ``stride``). One shift at a time: memory
    O((2r + 1)^2 H W) plus one ``C x H x W`` product, never the unfolded ``(2r + 1)^2 C H W``.

    Args:
        feat1, feat2: ``[B, C, H, W]`` maps of the same shape.
        max_displacement: largest displacement in pixels (>= 0).
        stride: step between displacements (FlowNetC uses 2).

    Returns:
        ``[B, (2r + 1)^2, H, W]``.
    """
    if feat1.shape != feat2.shape or feat1.dim() != 4:
        raise ValueError(f'local_correlation: feat1 {tuple(feat1.shape)} and feat2 '
                         f'{tuple(feat2.shape)} must be two [B, C, H, W] maps of one shape')
    if max_displacement < 0 or stride < 1:
        raise ValueError(f'local_correlation: max_displacement={max_displacement} must be >= 0 '
                         f'and stride={stride} >= 1')
    radius = max_displacement // stride
    height, width = feat1.shape[-2:]
    pad = radius * stride
    padded = F.pad(feat2, (pad, pad, pad, pad))
    out = []
    for dy in range(-radius, radius + 1):
        top = pad + dy * stride
        for dx in range(-radius, radius + 1):
            left = pad + dx * stride
            shifted = padded[:, :, top:top + height, left:left + width]
            out.append((feat1 * shifted).mean(dim=1))
    return torch.stack(out, dim=1)

"""Flow warping (``F.grid_sample``) and the channel norm of FlowNet2, in plain PyTorch."""
import torch
import torch.nn.functional as F
from torch import Tensor


def flow_warp(x: Tensor, flow: Tensor, mode: str = 'bilinear', padding_mode: str = 'zeros',
              align_corners: bool = True) -> Tensor:
    """Sample ``x`` at ``p + flow(p)`` for every pixel ``p`` (backward warping).

    ``flow`` is ``[B, 2, H, W]`` in pixels of ``x``'s grid, channel 0 = x (width), 1 = y. With
    ``align_corners=True`` the sample point is exactly ``p + flow(p)``: an integer flow moves the
    map by whole pixels and zero flow is the identity. ``padding_mode='zeros'`` reads 0 outside
    (feature warping in VPSNet); ``'border'`` clamps to the edge, which is FlowNet2's Resample2d
    (it clamps each bilinear neighbour). ``align_corners=False`` with this normalisation is the
    released VPSNet feature warp (grid normalised by ``(size - 1) / 2``, sampled with PyTorch
    1.4's default): up to half a pixel off at the borders, kept only for converted weights.
    """
    if x.dim() != 4 or flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f'flow_warp: expected x [B, C, H, W] and flow [B, 2, H, W], got '
                         f'{tuple(x.shape)} and {tuple(flow.shape)}')
    if x.shape[-2:] != flow.shape[-2:] or x.shape[0] != flow.shape[0]:
        raise ValueError(f'flow_warp: x {tuple(x.shape)} and flow {tuple(flow.shape)} differ in '
                         f'batch or size')
    height, width = x.shape[-2:]
    ys = torch.arange(height, dtype=flow.dtype, device=flow.device)
    xs = torch.arange(width, dtype=flow.dtype, device=flow.device)
    grid_x = (xs.view(1, 1, width) + flow[:, 0]) * (2.0 / max(width - 1, 1)) - 1.0
    grid_y = (ys.view(1, height, 1) + flow[:, 1]) * (2.0 / max(height - 1, 1)) - 1.0
    grid = torch.stack((grid_x, grid_y), dim=-1)
    return F.grid_sample(x, grid.to(x.dtype), mode=mode, padding_mode=padding_mode,
                         align_corners=align_corners)


def channel_norm(x: Tensor) -> Tensor:
    """L2 norm over channels, ``[B, C, H, W] -> [B, 1, H, W]`` (FlowNet2's ChannelNorm)."""
    return x.pow(2).sum(dim=1, keepdim=True).sqrt()

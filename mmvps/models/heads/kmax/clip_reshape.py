"""Clip-kMaX's frame stacking (P Sec 3.1, Eq 2): the T frames of a clip become one tall map."""
from torch import Tensor


def frames_to_clip(x: Tensor, num_frames: int) -> Tensor:
    """``[B*T, C, H, W]`` (frames of a clip consecutive) -> ``[B, C, T*H, W]`` (frames stacked
    along the height)."""
    bt, c, h, w = x.shape
    if bt % num_frames:
        raise ValueError(f'frames_to_clip: batch of {bt} frames is not a multiple of '
                         f'num_frames={num_frames}')
    return x.reshape(bt // num_frames, num_frames, c, h, w).transpose(1, 2).reshape(
        bt // num_frames, c, num_frames * h, w)


def clip_to_frames(x: Tensor, num_frames: int) -> Tensor:
    """Inverse of ``frames_to_clip``: ``[B, C, T*H, W]`` -> ``[B*T, C, H, W]``."""
    b, c, th, w = x.shape
    if th % num_frames:
        raise ValueError(f'clip_to_frames: height {th} is not a multiple of '
                         f'num_frames={num_frames}')
    return x.reshape(b, c, num_frames, th // num_frames, w).transpose(1, 2).reshape(
        b * num_frames, c, th // num_frames, w)

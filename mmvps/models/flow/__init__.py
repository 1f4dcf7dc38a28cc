"""Optical flow estimators. Every one maps ``(key_img, ref_img)`` (the preprocessed
``[B, 3, H, W]`` model inputs) to a flow ``[B, 2, h, w]`` from key to reference (for each key
pixel, where it lies in the reference; channel 0 = x) in pixels of its own ``h x w`` grid; users
resize it and scale its values to their grid (:func:`resize_flow`)."""
from .flownet2 import FlowNet2Torch
from .pwc_lite import PWCLiteFlow
from .utils import resize_flow
from .zero_flow import ZeroFlow

__all__ = ['FlowNet2Torch', 'PWCLiteFlow', 'ZeroFlow', 'resize_flow']

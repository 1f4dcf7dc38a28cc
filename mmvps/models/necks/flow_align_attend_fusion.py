"""VPSNet's extra neck: gather the FPN levels, align and attend the reference frame, refine,
redistribute (spec §1.2, §2; the released ``BFPTcea``)."""
import copy
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, xavier_init
from torch import Tensor

from mmvps.models.flow.utils import resize_flow
from mmvps.models.ops import flow_warp
from mmvps.registry import MODELS


@MODELS.register_module()
class FlowAlignAttendFusion(BaseModule):
    """Gather -> [align + attend with a reference frame] -> refine -> redistribute.

    * gather: levels below ``refine_level`` are max-pooled, the others nearest-resized to the
      size of level ``refine_level`` (P2 for 0), then averaged: ``f``.
    * align (``align=True``): ``phi0 = flow_estimator(key_img, ref_img)`` resized to ``f``'s grid
      (values in its pixels), ``w0 = warp(f_ref, phi0)``,
      ``dphi = flow_refiner(f_key, w0, phi0)``, ``w = warp(w0, dphi)`` (the residual flow warps
      the already warped map, as in the released code). ``align=False``: ``w = f_ref``.
    * attend: ``fusion`` (:class:`TemporalSpatialAttentionFusion`) on ``[f_key, w]`` (key at
      index 0) gives ``g``; ``attend=False`` keeps only its 1x1 fusion conv + LeakyReLU.
    * refine: ``ReLU(conv3x3(g))`` (``refine_type='conv'``); redistribute: level ``l`` gets
      ``P_l + resize(g)`` (adaptive max pool above the gather level, nearest below).

    ``fusion=None``, or a call without ``ref_feats``, skips align and attend: then this is mmdet
    ``BFP(refine_level, refine_type)`` with the same parameter names (the VPSNet Base neck). The
    released code fuses the first frame of a video with itself; a caller that wants that passes
    the key frame as its own reference.

    Args:
        in_channels, num_levels, refine_level, refine_type, conv_cfg, norm_cfg: as mmdet BFP.
        fusion: config of the attention fusion (``channels`` / ``num_frames`` / ``center`` are
            filled in) or None for the Base neck.
        flow_estimator: config of the initial flow (``FlowNet2Torch``, ``PWCLiteFlow``,
            ``ZeroFlow``...); only built when aligning.
        flow_refiner: config of :class:`FlowRefiner` (``in_channels`` filled in).
        align, attend: the switches of the paper's ablation.
        align_corners: ``True`` warps exactly by the flow; ``False`` reproduces the released
            code's feature warp (for converted weights; see :func:`flow_warp`).

    ``forward(key_feats, ref_feats=None, key_img=None, ref_img=None)`` returns a tuple shaped
    like ``key_feats``. Images (the preprocessed ``[B, 3, H, W]`` inputs) are needed to align;
    the last initial and refined flows are kept in ``self.last_flows`` (for inspection only).
    """

    def __init__(self,
                 in_channels: int = 256,
                 num_levels: int = 5,
                 refine_level: int = 0,
                 refine_type: Optional[str] = 'conv',
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 fusion: Optional[dict] = dict(type='TemporalSpatialAttentionFusion'),
                 flow_estimator: Optional[dict] = dict(type='PWCLiteFlow'),
                 flow_refiner: Optional[dict] = dict(type='FlowRefiner'),
                 align: bool = True,
                 attend: bool = True,
                 align_corners: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not 0 <= refine_level < num_levels:
            raise ValueError(f'FlowAlignAttendFusion: refine_level={refine_level} is not in '
                             f'[0, num_levels={num_levels})')
        if refine_type not in (None, 'conv'):
            raise ValueError(f'FlowAlignAttendFusion: refine_type={refine_type!r} must be None '
                             f"or 'conv'")
        self.in_channels = in_channels
        self.num_levels = num_levels
        self.refine_level = refine_level
        self.refine_type = refine_type
        self.align = align and fusion is not None
        self.attend = attend
        self.align_corners = align_corners
        if refine_type == 'conv':
            self.refine = ConvModule(in_channels, in_channels, 3, padding=1, conv_cfg=conv_cfg,
                                     norm_cfg=norm_cfg)
        self.with_fusion = fusion is not None
        if self.with_fusion:
            fusion = copy.deepcopy(fusion)
            fusion.update(channels=in_channels, num_frames=2, center=0)
            if not attend:
                fusion.update(temporal=False, spatial=False)
            self.fusion = MODELS.build(fusion)
        if self.align:
            if flow_estimator is None or flow_refiner is None:
                raise ValueError('FlowAlignAttendFusion(align=True) needs flow_estimator and '
                                 'flow_refiner configs')
            self.flow_estimator = MODELS.build(flow_estimator)
            refiner = copy.deepcopy(flow_refiner)
            refiner['in_channels'] = in_channels
            self.flow_refiner = MODELS.build(refiner)
        self.last_flows = None

    def init_weights(self) -> None:
        """Xavier-uniform for every conv of the neck (the released code); the flow estimator
        keeps its own initialisation (or the FlowNet2 weights it loaded), which a neck-wide
        ``init_cfg`` would overwrite."""
        if self.init_cfg is not None:
            super().init_weights()
            return
        for name, child in self.named_children():
            if name == 'flow_estimator':
                if hasattr(child, 'init_weights'):
                    child.init_weights()
                continue
            for module in child.modules():
                if isinstance(module, nn.Conv2d):
                    xavier_init(module, distribution='uniform')
        self._is_init = True

    def gather(self, feats: Sequence[Tensor]) -> Tensor:
        size = feats[self.refine_level].shape[-2:]
        gathered = [
            F.adaptive_max_pool2d(feat, size) if i < self.refine_level else
            F.interpolate(feat, size=size, mode='nearest') for i, feat in enumerate(feats)
        ]
        return sum(gathered) / len(gathered)

    def _check(self, feats, name):
        if len(feats) != self.num_levels:
            raise ValueError(f'FlowAlignAttendFusion: {name} has {len(feats)} levels, expected '
                             f'num_levels={self.num_levels}')

    def align_reference(self, key: Tensor, ref: Tensor, key_img: Optional[Tensor],
                        ref_img: Optional[Tensor]) -> Tensor:
        """Warp the gathered reference map onto the key's (initial flow, then the refinement)."""
        if key_img is None or ref_img is None:
            raise ValueError('FlowAlignAttendFusion(align=True) needs key_img and ref_img (the '
                             'preprocessed images) to compute the flow')
        flow_init = resize_flow(self.flow_estimator(key_img, ref_img), key.shape[-2:])
        warped = flow_warp(ref, flow_init, align_corners=self.align_corners)
        flow_fine = self.flow_refiner(key, warped, flow_init)
        self.last_flows = (flow_init.detach(), flow_fine.detach())
        return flow_warp(warped, flow_fine, align_corners=self.align_corners)

    def forward(self,
                key_feats: Tuple[Tensor],
                ref_feats: Optional[Tuple[Tensor]] = None,
                key_img: Optional[Tensor] = None,
                ref_img: Optional[Tensor] = None) -> Tuple[Tensor]:
        self._check(key_feats, 'key_feats')
        bsf = self.gather(key_feats)
        if self.with_fusion and ref_feats is not None:
            self._check(ref_feats, 'ref_feats')
            ref_bsf = self.gather(ref_feats)
            if self.align:
                ref_bsf = self.align_reference(bsf, ref_bsf, key_img, ref_img)
            bsf = self.fusion(torch.stack([bsf, ref_bsf], dim=1))
        if self.refine_type is not None:
            bsf = self.refine(bsf)
        outs = []
        for i, feat in enumerate(key_feats):
            size = feat.shape[-2:]
            residual = (F.interpolate(bsf, size=size, mode='nearest') if i < self.refine_level
                        else F.adaptive_max_pool2d(bsf, size))
            outs.append(residual + feat)
        return tuple(outs)

"""Initial kernels of K-Net: learnable thing (proposal) kernels and one kernel per stuff class."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, bias_init_with_prob, normal_init
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.registry import MODELS, TASK_UTILS
from mmvps.structures import IGNORE_INDEX
from .panoptic_kernel_targets import get_kernel_targets, kernel_mask_losses, suppress_ignored


@MODELS.register_module()
class ConvKernelHead(BaseModule):
    """Static kernels that give K-Net's first masks (summarised in Video K-Net, Sec. 3.1).

    ``num_proposals`` thing kernels and ``num_stuff_classes`` stuff kernels are the weights of
    1x1 convolutions without bias, so every initial mask is exactly ``kernel . feature``. Thing
    kernels act on a localization branch and stuff kernels on a semantic branch of the neck's map
    (a few convs each); the kernel update stages then work on the sum of both branches. The
    initial masks are supervised like the stages' masks (Hungarian matching on mask costs for
    thing kernels, stuff kernel ``j`` fixed to stuff class ``j``), as K-Net does.

    Official-code options (``lxtGH/Video-K-Net``, see ``docs`` of the Video K-Net configs):

    * ``semantic_head=True``: instead of bias-free stuff kernels, a 1x1 conv with bias over
      **all** classes (``conv_seg``, init N(0, 0.01)) on the semantic branch; its stuff rows are
      the stuff kernels and its stuff logits (bias included) the initial stuff masks. Its full
      output ``seg_preds`` gets ``loss_seg`` (softmax CE; targets: stuff GT and the matched thing
      GT, everything else ignored) and drives the tracker's semantic filter.
    * ``proposal_feats_with_obj=True``: the thing kernels entering stage 1 are the static kernels
      plus the sum of the features (both branches) under their binarised (> 0.5) initial masks.
    * ``stuff_mask_losses=False``: BCE / Dice on the thing initial masks only.
    * ``loss_rank``: K-Net's rank loss, a per-pixel softmax CE over the thing kernels whose target
      is the positive kernel of the GT mask covering the pixel.
    * ``mask_upsample_stride``: initial masks are upsampled by it (bilinear) before matching and
      losses (4 with the stride-8 neck: supervision at stride 2).
    * the neck may return ``(out, aux)`` (:class:`SemanticFPN` with an aux conv): ``out`` feeds
      the localization branch, ``aux`` the semantic branch.

    Args:
        num_proposals (int): number of thing kernels ``N``; 0 (with no thing classes) gives
            stuff kernels only, K-Net's semantic segmentation (Video K-Net's VSS mode).
        num_thing_classes (int): thing classes (labels ``0..num_thing_classes-1``).
        num_stuff_classes (int): stuff classes, one kernel each.
        in_channels (int): channels of the neck's map.
        out_channels (int): kernel channels ``C``.
        num_loc_convs (int): convs of the localization (thing) branch.
        num_seg_convs (int): convs of the semantic (stuff) branch.
        conv_cfg, norm_cfg, act_cfg (dict): config of the branch convs (1x1).
        kernel_init_std (float): std of the normal initialization of the kernels.
        conv_init_std (float, optional): initialize the branch convs with N(0, std) (official
            code: 0.01); None keeps mmcv's default.
        semantic_head (bool): see above.
        proposal_feats_with_obj (bool): see above.
        obj_mask_thr (float): threshold binarising the initial masks for it.
        stuff_mask_losses (bool): see above.
        mask_upsample_stride (int): see above.
        loss_mask (dict): binary cross-entropy on the initial masks.
        loss_dice (dict): Dice loss on the initial masks.
        loss_seg (dict, optional): loss of the semantic head (needs ``semantic_head``): softmax
            CE (pixels without target ignored; official Video K-Net) or a sigmoid Focal loss
            (pixels without target are background; official image K-Net).
        loss_rank (dict, optional): the rank loss (softmax CE, ``ignore_index`` is set here).
        train_cfg (dict, optional): ``assigner`` (mask costs only: the initial kernels have no
            class scores) and ``sampler``.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 num_proposals: int = 100,
                 num_thing_classes: int = 80,
                 num_stuff_classes: int = 53,
                 in_channels: int = 256,
                 out_channels: int = 256,
                 num_loc_convs: int = 1,
                 num_seg_convs: int = 1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32, requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 kernel_init_std: float = 1.0,
                 conv_init_std: Optional[float] = None,
                 semantic_head: bool = False,
                 proposal_feats_with_obj: bool = False,
                 obj_mask_thr: float = 0.5,
                 stuff_mask_losses: bool = True,
                 mask_upsample_stride: int = 1,
                 loss_mask: dict = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 loss_dice: dict = dict(type='DiceLoss', loss_weight=4.0),
                 loss_seg: Optional[dict] = None,
                 loss_rank: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_proposals = num_proposals
        self.num_thing_classes = num_thing_classes
        self.num_stuff_classes = num_stuff_classes
        self.num_classes = num_thing_classes + num_stuff_classes
        self.kernel_init_std = kernel_init_std
        self.conv_init_std = conv_init_std
        self.semantic_head = semantic_head
        self.proposal_feats_with_obj = proposal_feats_with_obj
        self.obj_mask_thr = obj_mask_thr
        self.stuff_mask_losses = stuff_mask_losses
        self.mask_upsample_stride = mask_upsample_stride
        if loss_seg is not None and not semantic_head:
            raise ValueError('ConvKernelHead: loss_seg needs semantic_head=True')

        def branch(num_convs):
            return nn.Sequential(*[
                ConvModule(in_channels if i == 0 else out_channels, out_channels, 1,
                           conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
                for i in range(num_convs)
            ])

        if in_channels != out_channels and min(num_loc_convs, num_seg_convs) == 0:
            raise ValueError('a branch without convs keeps in_channels; they must equal '
                             'out_channels')
        self.loc_convs = branch(num_loc_convs)
        self.seg_convs = branch(num_seg_convs)
        # no thing kernels (num_proposals=0): semantic segmentation with stuff kernels only
        self.thing_kernels = nn.Conv2d(out_channels, num_proposals, 1, bias=False) \
            if num_proposals > 0 else None
        if semantic_head:
            self.conv_seg = nn.Conv2d(out_channels, self.num_classes, 1)
        else:
            self.stuff_kernels = nn.Conv2d(out_channels, num_stuff_classes, 1, bias=False)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice)
        self.loss_seg = MODELS.build(loss_seg) if loss_seg is not None else None
        self.loss_rank = MODELS.build(loss_rank) if loss_rank is not None else None
        if train_cfg is not None:
            self.assigner = TASK_UTILS.build(train_cfg['assigner'])
            self.sampler = TASK_UTILS.build(train_cfg['sampler'], default_args=dict(context=self))

    def init_weights(self) -> None:
        super().init_weights()
        if self.conv_init_std is not None:
            for module in [*self.loc_convs.modules(), *self.seg_convs.modules()]:
                if isinstance(module, nn.Conv2d):
                    normal_init(module, std=self.conv_init_std)
        if self.thing_kernels is not None:
            nn.init.normal_(self.thing_kernels.weight, std=self.kernel_init_std)
        if self.semantic_head:
            nn.init.normal_(self.conv_seg.weight, std=0.01)
            nn.init.constant_(self.conv_seg.bias, bias_init_with_prob(0.01) if self.loss_seg is
                              not None and self.loss_seg.use_sigmoid else 0.)
        else:
            nn.init.normal_(self.stuff_kernels.weight, std=self.kernel_init_std)

    def forward(self, x: Union[Tensor, Sequence[Tensor]]) -> Tuple[Tensor, Tensor, Tensor]:
        """Args:
            x (Tensor | tuple): the neck's map ``[B, in_channels, h, w]``, or its
                ``(out, aux)`` maps.

        Returns:
            tuple: ``kernels`` ``[B, N + S, C]`` (thing kernels, then stuff kernels in class
            order), ``feats`` ``[B, C, h, w]`` (localization + semantic branch, the features of
            the update stages) and ``mask_preds`` ``[B, N + S, h, w]`` initial mask logits.
        """
        return self.forward_with_seg(x)[:3]

    def forward_with_seg(self, x: Union[Tensor, Sequence[Tensor]]
                         ) -> Tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
        """:meth:`forward` plus the semantic head's logits ``[B, num_classes, h, w]`` (None
        without ``semantic_head``)."""
        loc_in, seg_in = (x[0], x[1]) if isinstance(x, (tuple, list)) else (x, x)
        loc_feats = self.loc_convs(loc_in)
        seg_feats = self.seg_convs(seg_in)
        feats = loc_feats + seg_feats
        if self.thing_kernels is None:
            thing_masks = loc_feats.new_zeros((len(loc_in), 0, *loc_feats.shape[-2:]))
            thing_kernels = loc_feats.new_zeros((len(loc_in), 0, loc_feats.size(1)))
        else:
            thing_masks = self.thing_kernels(loc_feats)
            thing_kernels = self.thing_kernels.weight.flatten(1)[None].expand(
                len(loc_in), -1, -1)
        if self.proposal_feats_with_obj:
            obj_masks = (thing_masks.sigmoid() > self.obj_mask_thr).to(feats.dtype)
            thing_kernels = thing_kernels + torch.einsum('bnhw,bchw->bnc', obj_masks, feats)
        if self.semantic_head:
            seg_preds = self.conv_seg(seg_feats)
            stuff_masks = seg_preds[:, self.num_thing_classes:]
            stuff_kernels = self.conv_seg.weight[self.num_thing_classes:]
        else:
            seg_preds = None
            stuff_masks = self.stuff_kernels(seg_feats)
            stuff_kernels = self.stuff_kernels.weight
        stuff_kernels = stuff_kernels.flatten(1)[None].expand(len(loc_in), -1, -1)
        kernels = torch.cat([thing_kernels, stuff_kernels], 1)
        return kernels, feats, torch.cat([thing_masks, stuff_masks], 1), seg_preds

    def upsample(self, preds: Tensor) -> Tensor:
        """Masks or logits ``[B, M, h, w]`` at the resolution of the targets."""
        if self.mask_upsample_stride == 1:
            return preds
        return F.interpolate(preds, scale_factor=self.mask_upsample_stride, mode='bilinear',
                             align_corners=False)

    def loss_by_feat(self, mask_preds: Tensor,
                     batch_gt_instances: List[InstanceData],
                     seg_preds: Optional[Tensor] = None) -> dict:
        """Losses of the initial masks.

        Args:
            mask_preds (Tensor): ``[B, N + S, h, w]`` initial mask logits (at the features'
                resolution; upsampled here by ``mask_upsample_stride``).
            batch_gt_instances (list[InstanceData]): ``get_panoptic_gt`` of each image, at the
                upsampled resolution.
            seg_preds (Tensor, optional): ``[B, num_classes, h, w]`` semantic logits, for
                ``loss_seg``.
        """
        mask_preds = self.upsample(mask_preds)
        mask_preds = torch.stack([
            suppress_ignored(preds, gt.ignore_mask)
            for preds, gt in zip(mask_preds, batch_gt_instances)
        ])
        batch_targets = [
            get_kernel_targets(preds, None, gt, self.assigner, self.sampler, self.num_proposals,
                               self.num_thing_classes, self.num_classes)
            for preds, gt in zip(mask_preds.detach(), batch_gt_instances)
        ]
        mask_targets = batch_targets
        if not self.stuff_mask_losses:
            mask_targets = [self._things_only(targets) for targets in batch_targets]
        loss_mask, loss_dice = kernel_mask_losses(mask_preds, mask_targets, batch_gt_instances,
                                                  self.loss_mask, self.loss_dice)
        losses = dict(loss_init_mask=loss_mask, loss_init_dice=loss_dice)
        if self.loss_rank is not None:
            losses['loss_init_rank'] = self.loss_rank(
                mask_preds[:, :self.num_proposals],
                torch.stack([self.rank_targets(t) for t in batch_targets]),
                ignore_index=IGNORE_INDEX)
        if self.loss_seg is not None:
            if seg_preds is None:
                raise ValueError('ConvKernelHead.loss_by_feat: loss_seg needs seg_preds')
            seg_preds = self.upsample(seg_preds)
            seg_targets = torch.stack([
                self.seg_targets(t, gt) for t, gt in zip(batch_targets, batch_gt_instances)
            ])
            if self.loss_seg.use_sigmoid:  # Focal: target num_classes = background
                flat_preds = seg_preds.permute(0, 2, 3, 1).reshape(-1, self.num_classes)
                flat_targets = seg_targets.flatten()
                num_pos = (flat_targets < self.num_classes).sum().clamp(min=1).item()
                losses['loss_init_seg'] = self.loss_seg(flat_preds, flat_targets,
                                                        avg_factor=num_pos)
            else:  # softmax CE: target num_classes = ignored
                losses['loss_init_seg'] = self.loss_seg(seg_preds, seg_targets,
                                                        ignore_index=self.num_classes)
        return losses

    def _things_only(self, targets: InstanceData) -> InstanceData:
        targets = targets.clone()
        assigned = targets.assigned_gt_inds.clone()
        assigned[self.num_proposals:] = -1
        targets.assigned_gt_inds = assigned
        return targets

    def rank_targets(self, targets: InstanceData) -> Tensor:
        """``[h, w]`` index of the positive thing kernel whose GT mask covers each pixel (the
        highest such index wins, as in K-Net), ``IGNORE_INDEX`` elsewhere."""
        masks = targets.mask_targets[:self.num_proposals] > 0
        pos = targets.assigned_gt_inds[:self.num_proposals] >= 0
        rank = masks.new_full(masks.shape[-2:], IGNORE_INDEX, dtype=torch.long)
        for kernel in torch.nonzero(pos).flatten().tolist():
            rank[masks[kernel]] = kernel
        return rank

    def seg_targets(self, targets: InstanceData, gt: InstanceData) -> Tensor:
        """``[h, w]`` semantic targets of the semantic head: the stuff GT, then the GT of the
        matched thing kernels on top; ``num_classes`` (ignored) elsewhere."""
        seg = torch.full(gt.masks.shape[-2:], self.num_classes, dtype=torch.long,
                         device=gt.masks.device)
        is_stuff = gt.labels >= self.num_thing_classes
        for mask, label in zip(gt.masks[is_stuff], gt.labels[is_stuff]):
            seg[mask > 0] = label
        assigned = targets.assigned_gt_inds[:self.num_proposals]
        for ind in assigned[assigned >= 0].tolist():
            seg[gt.masks[ind] > 0] = gt.labels[ind]
        return seg

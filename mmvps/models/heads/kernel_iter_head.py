"""K-Net's cascade of kernel update stages, its training targets and panoptic inference."""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule, ModuleList
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

from mmvps.registry import MODELS, TASK_UTILS
from mmvps.structures import INSTANCE_OFFSET
from .panoptic_kernel_targets import get_kernel_targets, suppress_ignored

StageOutput = Tuple[Tensor, Tensor, Tensor]


@MODELS.register_module()
class KernelIterHead(BaseModule):
    """Refine the initial kernels through ``num_stages`` :class:`KernelUpdateHead` stages.

    Kernels are ordered ``num_proposals`` thing kernels, then one kernel per stuff class. Every
    stage is supervised (Hungarian assignment of thing kernels per stage, fixed stuff kernels).
    Video K-Net's kernel fusion plugs in at the start of the last stage: when the head has a
    ``kernel_fusion`` module and ``previous_kernels`` are given, the last stage's input kernels
    become ``kernel_fusion(kernels, previous_kernels, feats)``.

    Panoptic inference (``test_cfg``) follows K-Net:

    * ``merge_mode='thing_first'``: thing kernels scored by their best thing class; those with
      score >= ``instance_score_thr`` (at most ``max_per_img``) are pasted by decreasing score,
      a mask (sigmoid > ``mask_thr``) losing more than ``overlap_thr`` of its area to earlier
      segments is dropped, otherwise only its free part is kept; then stuff masks
      (score >= ``stuff_score_thr``) fill free pixels by decreasing score when at least
      ``stuff_min_area`` of them are free. The rest is void.
    * ``merge_mode='joint'`` (mmvps's reading of Video K-Net's "mixed order"): every kept thing
      and stuff mask competes per pixel by ``score * sigmoid``; a segment keeps the pixels it
      wins where its own sigmoid > ``mask_thr`` and is dropped when it loses more than
      ``overlap_thr`` of its mask (things) or keeps less than ``stuff_min_area`` pixels (stuff).
    * ``merge_mode='official_joint'`` (the official code's ``merge_stuff_thing_stuff_joint``):
      the candidates are the top ``max_per_img`` (thing kernel, thing class) pairs (a kernel may
      appear twice) and all stuff kernels; each pixel goes to the argmax of ``score * sigmoid``
      over all of them; visiting the candidates by decreasing score, a thing below
      ``instance_score_thr`` is skipped (its pixels stay void) and a segment is kept when the
      pixels it won are at least ``overlap_thr`` of its ``sigmoid >= 0.5`` area. No stuff score
      or area filter, no ``mask_thr``. Unassigned pixels are void (the official code writes
      class 0 there).
    * ``merge_mode='semantic'`` (semantic segmentation with stuff kernels only, Video K-Net's
      VSS mode; needs ``num_thing_classes=0``): every pixel goes to the class of the stuff
      kernel with the largest ``score * sigmoid``, so no pixel is void.

    ``test_cfg['rescale_probs']`` (official code) resizes the sigmoid probabilities to the image
    instead of the logits. With ``mask_upsample_stride > 1`` the last stage's logits are first
    upsampled by it (official order).

    Official-code training options: ``mask_upsample_stride`` (masks are upsampled by it before
    matching and losses; 4 with the stride-8 neck) and ``assign_on_previous`` (stage ``s`` is
    matched on stage ``s - 1``'s detached masks and scores, stage 0 on the initial masks with
    the mask costs only; the association samples then come from a separate matching of the last
    stage's own outputs, as the official track assigner does).

    Args:
        num_stages (int): kernel update stages.
        stage_loss_weights (Sequence[float]): loss weight of each stage.
        num_proposals (int): thing kernels ``N``.
        num_thing_classes (int): thing classes.
        num_stuff_classes (int): stuff classes (one kernel each).
        mask_head (dict | list[dict]): :class:`KernelUpdateHead` config, one for all stages or
            one per stage.
        kernel_fusion (dict, optional): Video K-Net kernel fusion module, called as
            ``kernel_fusion(kernels [B, K, C], previous_kernels, feats [B, C, h, w])``.
        mask_upsample_stride (int): see above.
        assign_on_previous (bool): see above.
        train_cfg (dict | list[dict], optional): ``assigner`` and ``sampler`` of each stage.
        test_cfg (dict, optional): panoptic inference settings (see above), updating
            ``default_test_cfg`` (K-Net's COCO values).
        init_cfg (dict, optional): initialization config.
    """

    default_test_cfg = dict(
        max_per_img=100,
        mask_thr=0.5,
        instance_score_thr=0.3,
        stuff_score_thr=0.05,
        overlap_thr=0.6,
        stuff_min_area=4096,
        merge_mode='thing_first')

    def __init__(self,
                 num_stages: int = 3,
                 stage_loss_weights: Sequence[float] = (1, 1, 1),
                 num_proposals: int = 100,
                 num_thing_classes: int = 80,
                 num_stuff_classes: int = 53,
                 mask_head: Union[dict, List[dict]] = dict(type='KernelUpdateHead'),
                 kernel_fusion: Optional[dict] = None,
                 mask_upsample_stride: int = 1,
                 assign_on_previous: bool = False,
                 train_cfg: Optional[Union[dict, List[dict]]] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(stage_loss_weights) != num_stages:
            raise ValueError(f'{len(stage_loss_weights)} stage loss weights for {num_stages} '
                             'stages')
        self.num_stages = num_stages
        self.stage_loss_weights = stage_loss_weights
        self.num_proposals = num_proposals
        self.num_thing_classes = num_thing_classes
        self.num_stuff_classes = num_stuff_classes
        self.num_classes = num_thing_classes + num_stuff_classes
        mask_heads = mask_head if isinstance(mask_head, list) else [mask_head] * num_stages
        if len(mask_heads) != num_stages:
            raise ValueError(f'{len(mask_heads)} mask_head configs for {num_stages} stages')
        self.mask_head = ModuleList([MODELS.build(cfg) for cfg in mask_heads])
        for stage, head in enumerate(self.mask_head):
            if head.num_classes != self.num_classes:
                raise ValueError(f'stage {stage} predicts {head.num_classes} classes, the head '
                                 f'has {num_thing_classes} thing + {num_stuff_classes} stuff')
        self.kernel_fusion = MODELS.build(kernel_fusion) if kernel_fusion is not None else None
        self.mask_upsample_stride = mask_upsample_stride
        self.assign_on_previous = assign_on_previous
        self.train_cfg = train_cfg
        self.test_cfg = {**self.default_test_cfg, **(test_cfg or {})}
        if self.test_cfg['merge_mode'] == 'semantic' and (num_thing_classes or num_proposals):
            raise ValueError(f"merge_mode='semantic' pastes stuff kernels only; the head has "
                             f'{num_thing_classes} thing classes and {num_proposals} thing '
                             'kernels (set both to 0)')
        if train_cfg is not None:
            stage_cfgs = train_cfg if isinstance(train_cfg, list) else [train_cfg] * num_stages
            self.assigners = [TASK_UTILS.build(cfg['assigner']) for cfg in stage_cfgs]
            self.samplers = [
                TASK_UTILS.build(cfg['sampler'], default_args=dict(context=self))
                for cfg in stage_cfgs
            ]
            if assign_on_previous:  # stage 0 has no previous class scores: mask costs only
                assigner = copy.deepcopy(stage_cfgs[0]['assigner'])
                assigner['match_costs'] = [
                    cost for cost in assigner['match_costs']
                    if cost['type'] not in ('FocalLossCost', 'ClassificationCost')
                ]
                self.initial_assigner = TASK_UTILS.build(assigner)

    def upsample(self, preds: Tensor) -> Tensor:
        """Stage masks ``[B, K, h, w]`` -> the resolution of the targets."""
        if self.mask_upsample_stride == 1:
            return preds
        return F.interpolate(preds, scale_factor=self.mask_upsample_stride, mode='bilinear',
                             align_corners=False)

    def forward(self,
                feats: Tensor,
                kernels: Tensor,
                mask_preds: Tensor,
                previous_kernels: Optional[Tensor] = None,
                return_group_feats: bool = False
                ) -> Union[List[StageOutput], Tuple[List[StageOutput], Tensor]]:
        """Run the stages.

        Args:
            feats (Tensor): ``[B, C, h, w]`` features from :class:`ConvKernelHead`.
            kernels (Tensor): ``[B, K, C]`` initial kernels.
            mask_preds (Tensor): ``[B, K, h, w]`` initial mask logits.
            previous_kernels (Tensor, optional): kernels of the previous frame, passed to
                ``kernel_fusion`` at the start of the last stage (ignored without it).
            return_group_feats (bool): also return the last stage's group features.

        Returns:
            list[tuple]: per stage ``(cls_scores [B, K, num_classes], mask_preds [B, K, h, w],
            kernels [B, K, C])``, logits; with ``return_group_feats`` also the last stage's
            group features ``[B, K, C]``.
        """
        outputs = []
        fusion = self.kernel_fusion
        official_fusion = fusion is not None and getattr(fusion, 'mode', None) == 'official'
        for stage, head in enumerate(self.mask_head):
            last = stage == self.num_stages - 1
            if last and fusion is not None and previous_kernels is not None \
                    and not official_fusion:
                kernels = fusion(kernels, previous_kernels, feats)
            cls_scores, mask_preds, kernels, group_feats = head(
                feats, kernels, mask_preds,
                previous_kernels=previous_kernels if last and official_fusion else None,
                fusion=fusion if last and official_fusion else None,
                return_group_feats=True)
            outputs.append((cls_scores, mask_preds, kernels))
        return (outputs, group_feats) if return_group_feats else outputs

    def loss(self,
             feats: Tensor,
             kernels: Tensor,
             mask_preds: Tensor,
             batch_gt_instances: List[InstanceData],
             previous_kernels: Optional[Tensor] = None) -> Tuple[dict, List[InstanceData]]:
        """Losses of every stage, and what association learning needs of the last one.

        Args:
            feats, kernels, mask_preds, previous_kernels: as in :meth:`forward`.
            batch_gt_instances (list[InstanceData]): ``get_panoptic_gt`` of each image.

        Returns:
            tuple: ``losses`` (``s{i}.loss_cls``, ``s{i}.loss_mask``, ``s{i}.loss_dice``) and, per
            image, an ``InstanceData`` with one row per kernel of the last stage: ``kernels``
            ``[K, C]``, ``mask_preds`` ``[K, h, w]`` (upsampled by ``mask_upsample_stride``),
            ``cls_scores`` ``[K, num_classes]`` (logits) and ``group_feats`` ``[K, C]`` (in the
            graph), ``assigned_gt_inds`` (index into the image's
            ``batch_gt_instances``, -1 when unassigned) and ``assigned_instances_ids`` (GT track
            id of the matched thing, -1 for unassigned and stuff kernels).
        """
        losses = dict()
        outputs, group_feats = self(feats, kernels, mask_preds, previous_kernels=previous_kernels,
                                    return_group_feats=True)

        def suppress(masks):
            return torch.stack([
                suppress_ignored(img_masks, gt.ignore_mask)
                for img_masks, gt in zip(masks, batch_gt_instances)
            ])

        def targets_of(masks, scores, assigner, sampler):
            scores = [None] * len(masks) if scores is None else scores.detach()
            return [
                get_kernel_targets(img_masks, img_scores, gt, assigner, sampler,
                                   self.num_proposals, self.num_thing_classes, self.num_classes)
                for img_masks, img_scores, gt in zip(masks.detach(), scores, batch_gt_instances)
            ]

        previous_masks, previous_scores = suppress(self.upsample(mask_preds)), None
        for stage, (cls_scores, stage_masks, _) in enumerate(outputs):
            stage_masks = suppress(self.upsample(stage_masks))
            if self.assign_on_previous:
                assigner = self.assigners[stage] if stage else self.initial_assigner
                batch_targets = targets_of(previous_masks, previous_scores, assigner,
                                           self.samplers[stage])
            else:
                batch_targets = targets_of(stage_masks, cls_scores, self.assigners[stage],
                                           self.samplers[stage])
            stage_losses = self.mask_head[stage].loss_by_feat(cls_scores, stage_masks,
                                                              batch_targets, batch_gt_instances)
            for name, value in stage_losses.items():
                losses[f's{stage}.{name}'] = value * self.stage_loss_weights[stage]
            previous_masks, previous_scores = stage_masks, cls_scores
        if self.assign_on_previous:  # association samples: the last stage's own matching
            batch_targets = targets_of(stage_masks, cls_scores, self.assigners[-1],
                                       self.samplers[-1])

        kernels = outputs[-1][2]
        results = []
        for i, (targets, gt) in enumerate(zip(batch_targets, batch_gt_instances)):
            assigned = targets.assigned_gt_inds
            instances_ids = torch.full_like(assigned, -1)
            matched = assigned >= 0
            instances_ids[matched] = gt.instances_ids[assigned[matched]]
            results.append(
                InstanceData(
                    kernels=kernels[i],
                    mask_preds=stage_masks[i],
                    cls_scores=cls_scores[i],
                    group_feats=group_feats[i],
                    assigned_gt_inds=assigned,
                    assigned_instances_ids=instances_ids))
        return losses, results

    def predict(self,
                feats: Tensor,
                kernels: Tensor,
                mask_preds: Tensor,
                batch_img_metas: List[dict],
                previous_kernels: Optional[Tensor] = None,
                rescale: bool = True) -> List[dict]:
        """Panoptic segmentation of each image.

        Args:
            feats, kernels, mask_preds, previous_kernels: as in :meth:`forward`.
            batch_img_metas (list[dict]): ``batch_input_shape``, ``img_shape`` and, to rescale,
                ``ori_shape`` of each image.
            rescale (bool): return maps at ``ori_shape`` (else at ``img_shape``).

        Returns:
            list[dict]: per image ``pan_results`` (``PixelData(sem_seg=[1, H, W])`` int64
            ``label + instance_id * INSTANCE_OFFSET``, void = ``num_classes``), ``ins_results``
            (``InstanceData`` of the kept thing segments: ``kernel_inds`` into the kernels,
            ``labels``, ``scores``, ``instance_ids`` = their instance number in the map),
            ``kernels`` and ``group_feats`` ``[K, C]`` of the last stage.
        """
        outputs, group_feats = self(
            feats, kernels, mask_preds, previous_kernels=previous_kernels,
            return_group_feats=True)
        cls_scores, mask_preds, kernels = outputs[-1]
        results = []
        for scores, masks, img_kernels, img_group_feats, meta in zip(
                cls_scores.sigmoid(), mask_preds, kernels, group_feats, batch_img_metas):
            pan, segments = self.panoptic_postprocess(scores, masks, meta, rescale)
            results.append(
                dict(
                    pan_results=PixelData(sem_seg=pan[None]),
                    ins_results=segments,
                    kernels=img_kernels,
                    group_feats=img_group_feats))
        return results

    def panoptic_postprocess(self, scores: Tensor, mask_preds: Tensor, img_meta: dict,
                             rescale: bool = True) -> Tuple[Tensor, InstanceData]:
        """Paste one image's thing and stuff masks into a panoptic map.

        Args:
            scores (Tensor): ``[K, num_classes]`` class probabilities.
            mask_preds (Tensor): ``[K, h, w]`` mask logits at the features' resolution.
            img_meta (dict): see :meth:`predict`.
            rescale (bool): see :meth:`predict`.

        Returns:
            tuple: the panoptic map ``[H, W]`` (int64) and the kept thing segments.
        """
        cfg = self.test_cfg
        num_things, num_proposals = self.num_thing_classes, self.num_proposals
        stuff_range = torch.arange(self.num_stuff_classes, device=scores.device)
        stuff_scores = scores[num_proposals + stuff_range, num_things + stuff_range]
        if cfg['merge_mode'] == 'semantic':
            probs = self._rescale_masks(mask_preds[num_proposals:], img_meta, rescale)
            pan = num_things + (stuff_scores[:, None, None] * probs).argmax(0)
            empty = pan.new_zeros(0)
            return pan, InstanceData(kernel_inds=empty, labels=empty,
                                     scores=stuff_scores.new_zeros(0), instance_ids=empty)
        if cfg['merge_mode'] == 'official_joint':
            pair_scores = scores[:num_proposals, :num_things].flatten()
            thing_scores, pairs = pair_scores.topk(min(cfg['max_per_img'], len(pair_scores)))
            keep = torch.div(pairs, num_things, rounding_mode='floor')
            thing_labels = pairs % num_things
            stuff_scores, stuff_keep = stuff_scores.sort(descending=True)
        else:
            if num_things and num_proposals:
                thing_scores, thing_labels = scores[:num_proposals, :num_things].max(1)
            else:
                thing_scores = scores.new_zeros(0)
                thing_labels = torch.zeros_like(scores[:0, 0]).long()
            keep = torch.nonzero(thing_scores >= cfg['instance_score_thr']).squeeze(1)
            keep = keep[thing_scores[keep].argsort(descending=True)][:cfg['max_per_img']]
            thing_scores, thing_labels = thing_scores[keep], thing_labels[keep]
            stuff_keep = torch.nonzero(stuff_scores >= cfg['stuff_score_thr']).squeeze(1)
            stuff_keep = stuff_keep[stuff_scores[stuff_keep].argsort(descending=True)]
            stuff_scores = stuff_scores[stuff_keep]

        # candidates in decreasing score within things, then stuff
        cand_kernels = torch.cat([keep, num_proposals + stuff_keep])
        cand_labels = torch.cat([thing_labels, num_things + stuff_keep])
        cand_scores = torch.cat([thing_scores, stuff_scores])
        probs = self._rescale_masks(mask_preds[cand_kernels], img_meta, rescale)

        if cfg['merge_mode'] == 'thing_first':
            segment_masks = self._merge_thing_first(probs, len(keep), cfg)
        elif cfg['merge_mode'] == 'joint':
            segment_masks = self._merge_joint(probs, cand_scores, len(keep), cfg)
        elif cfg['merge_mode'] == 'official_joint':
            segment_masks = self._merge_official_joint(probs, cand_scores, len(keep), cfg)
        else:
            raise ValueError(f"unknown merge_mode {cfg['merge_mode']!r}: 'thing_first', "
                             "'joint', 'official_joint' or 'semantic'")

        pan = torch.full(probs.shape[-2:], self.num_classes, dtype=torch.long,
                         device=probs.device)
        thing_rows, instance_ids = [], []
        for row, mask in segment_masks:
            is_thing = row < len(keep)
            instance_id = len(thing_rows) + 1 if is_thing else 0
            pan[mask] = cand_labels[row] + instance_id * INSTANCE_OFFSET
            if is_thing:
                thing_rows.append(row)
                instance_ids.append(instance_id)
        rows = torch.tensor(thing_rows, dtype=torch.long, device=probs.device)
        segments = InstanceData(
            kernel_inds=cand_kernels[rows],
            labels=cand_labels[rows],
            scores=cand_scores[rows],
            instance_ids=torch.tensor(instance_ids, dtype=torch.long, device=probs.device))
        return pan, segments

    @staticmethod
    def _merge_thing_first(probs: Tensor, num_things: int, cfg: dict) -> List[Tuple[int, Tensor]]:
        """Segments ``(candidate row, mask)`` in paste order; masks do not overlap."""
        masks = probs > cfg['mask_thr']
        taken = torch.zeros(probs.shape[-2:], dtype=torch.bool, device=probs.device)
        segments = []
        for row, mask in enumerate(masks):
            area = mask.sum()
            free = mask & ~taken
            free_area = free.sum()
            if row < num_things:
                if area == 0 or (area - free_area) > cfg['overlap_thr'] * area:
                    continue
            elif free_area == 0 or free_area < cfg['stuff_min_area']:
                continue
            segments.append((row, free))
            taken |= free
        return segments

    @staticmethod
    def _merge_joint(probs: Tensor, scores: Tensor, num_things: int,
                     cfg: dict) -> List[Tuple[int, Tensor]]:
        """Segments ``(candidate row, mask)`` of the per-pixel ``score * sigmoid`` winners."""
        if len(probs) == 0:
            return []
        masks = probs > cfg['mask_thr']
        winner = (scores[:, None, None] * probs).argmax(0)
        segments = []
        for row in scores.argsort(descending=True).tolist():
            area = masks[row].sum()
            won = masks[row] & (winner == row)
            won_area = won.sum()
            if won_area == 0:
                continue
            if row < num_things:
                if (area - won_area) > cfg['overlap_thr'] * area:
                    continue
            elif won_area < cfg['stuff_min_area']:
                continue
            segments.append((row, won))
        return segments

    @staticmethod
    def _merge_official_joint(probs: Tensor, scores: Tensor, num_things: int,
                              cfg: dict) -> List[Tuple[int, Tensor]]:
        """Segments ``(candidate row, mask)`` of the official code's joint paste."""
        if len(probs) == 0:
            return []
        winner = (scores[:, None, None] * probs).argmax(0)
        segments = []
        for row in torch.argsort(-scores).tolist():
            if row < num_things and scores[row] < cfg['instance_score_thr']:
                continue
            won = winner == row
            won_area = won.sum().item()
            area = (probs[row] >= 0.5).sum().item()
            if won_area > 0 and area > 0 and won_area / area >= cfg['overlap_thr']:
                segments.append((row, won))
        return segments

    def _rescale_masks(self, mask_preds: Tensor, img_meta: dict, rescale: bool) -> Tensor:
        """Mask logits ``[M, h, w]`` of the last stage -> probabilities at ``ori_shape`` (or
        ``img_shape``)."""
        if len(mask_preds) == 0:
            shape = img_meta['ori_shape'] if rescale else img_meta['img_shape']
            return mask_preds.new_zeros((0, *shape[:2]))
        masks = self.upsample(mask_preds[None])
        rescale_probs = self.test_cfg.get('rescale_probs', False)
        if rescale_probs:
            masks = masks.sigmoid()
        masks = F.interpolate(masks, size=img_meta['batch_input_shape'], mode='bilinear',
                              align_corners=False)
        img_h, img_w = img_meta['img_shape'][:2]
        masks = masks[..., :img_h, :img_w]
        if rescale:
            masks = F.interpolate(masks, size=img_meta['ori_shape'][:2], mode='bilinear',
                                  align_corners=False)
        return masks[0] if rescale_probs else masks[0].sigmoid()

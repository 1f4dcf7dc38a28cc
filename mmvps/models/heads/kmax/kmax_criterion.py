"""Training objective of (clip-)kMaX-DeepLab: Hungarian matching with the PQ-style cost, then the
PQ-style class and dice terms, mask-ID cross-entropy and pixel instance discrimination on the
final output and on every decoder layer's output (deep supervision), plus the auxiliary semantic
loss once."""
from typing import Dict, List, Optional

import torch
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmvps.registry import MODELS, TASK_UTILS
from ...losses.kmax_losses import inverse_mask_area
from ...task_modules.pq_style_match_cost import pq_class_similarity, pq_mask_similarity

_LOSS_NAMES = ('loss_pq_class', 'loss_pq_dice', 'loss_mask_id', 'loss_instance_discrimination')


@MODELS.register_module()
class KMaXCriterion(nn.Module):
    """Losses of clip-kMaX for a batch of B clips (T = 1: kMaX-DeepLab).

    The queries are matched to the tube targets once per clip on the final output (mmdet's
    ``HungarianAssigner`` with :class:`PQStyleMatchCost`). The matching gives each query its PQ
    weights: a matched query's class term is weighted by its dice with the target and its dice
    term by its class probability for the target (both at least ``min_weight``); an unmatched
    query learns void with the weight of its overlap with the void region
    (``sum(p * void) / (sum(p) + 1e-5)``) and has no dice term. With ``share_final_matching`` the
    final output's matching and weights are reused for the decoder layers' outputs (kMaX's
    default); otherwise every output is matched on its own. Everything runs in fp32.

    Args:
        num_classes (int): C (the class logits have C + 1 columns, the last is void).
        assigner (dict): Hungarian assigner config.
        loss_pq_class, loss_pq_dice, loss_mask_id, loss_instance_discrimination,
            loss_semantic (dict, optional): loss configs; None leaves a term out.
        share_final_matching (bool): reuse the final matching for the aux outputs.
        min_weight (float): lower clamp of the PQ weights (kMaX's ``NO_OBJECT_WEIGHT``).
    """

    def __init__(self,
                 num_classes: int,
                 assigner: dict = dict(
                     type='HungarianAssigner', match_costs=[dict(type='PQStyleMatchCost')]),
                 loss_pq_class: Optional[dict] = dict(type='PQStyleClassLoss', loss_weight=3.0),
                 loss_pq_dice: Optional[dict] = dict(type='PQStyleDiceLoss', loss_weight=3.0),
                 loss_mask_id: Optional[dict] = dict(
                     type='MaskIDCrossEntropyLoss', loss_weight=0.3),
                 loss_instance_discrimination: Optional[dict] = dict(
                     type='PixelInstanceDiscriminationLoss', num_samples=4096,
                     sample_temperature=1.5, loss_weight=1.0),
                 loss_semantic: Optional[dict] = dict(
                     type='SampledSemanticLoss', num_samples=4096, sample_temperature=2.0,
                     loss_weight=1.0),
                 share_final_matching: bool = True,
                 min_weight: float = 1e-5) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.assigner = TASK_UTILS.build(assigner)
        configs = dict(
            loss_pq_class=loss_pq_class,
            loss_pq_dice=loss_pq_dice,
            loss_mask_id=loss_mask_id,
            loss_instance_discrimination=loss_instance_discrimination,
            loss_semantic=loss_semantic)
        for name, cfg in configs.items():
            setattr(self, name, MODELS.build(cfg) if cfg is not None else None)
        self.share_final_matching = share_final_matching
        self.min_weight = min_weight

    def forward(self, outputs: dict, semantic_logits: Optional[Tensor],
                targets: List[InstanceData]) -> Dict[str, Tensor]:
        """Args:
            outputs (dict): the decoder output: ``class_logits`` ``[B, N, C + 1]``,
                ``mask_logits`` ``[B, N, T, h, w]``, ``pixel_feature`` ``[B, E, T, h, w]``, and
                ``aux_outputs`` (list of dicts with the same three keys).
            semantic_logits (Tensor, optional): ``[B * T, C, h, w]`` auxiliary semantic logits.
            targets (list[InstanceData]): :func:`get_clip_panoptic_targets` of each clip.

        Returns:
            dict: ``loss_pq_class``, ``loss_pq_dice``, ``loss_mask_id``,
            ``loss_instance_discrimination`` of the final output, ``s{i}.<name>`` of aux output
            ``i``, and ``loss_semantic``.
        """
        with torch.autocast(device_type=outputs['mask_logits'].device.type, enabled=False):
            final = self._as_float(outputs)
            self._check(final, targets)
            processed = self.process_targets(final, targets)
            losses = self.output_losses(final, processed)
            for i, aux in enumerate(outputs.get('aux_outputs', [])):
                aux = self._as_float(aux)
                aux_targets = processed if self.share_final_matching else \
                    self.process_targets(aux, targets)
                losses.update({f's{i}.{name}': value
                               for name, value in self.output_losses(aux, aux_targets).items()})
            if self.loss_semantic is not None and semantic_logits is not None:
                losses['loss_semantic'] = self.semantic_loss(semantic_logits.float(), targets,
                                                             processed)
        return losses

    @staticmethod
    def _as_float(output: dict) -> dict:
        return {key: output[key].float() for key in ('class_logits', 'mask_logits',
                                                     'pixel_feature') if key in output}

    def _check(self, output: dict, targets: List[InstanceData]) -> None:
        batch, _, num_columns = output['class_logits'].shape
        if num_columns != self.num_classes + 1:
            raise ValueError(f'KMaXCriterion: class_logits have {num_columns} columns, expected '
                             f'num_classes + 1 = {self.num_classes + 1} (the last is void)')
        if len(targets) != batch:
            raise ValueError(f'KMaXCriterion: {len(targets)} targets for {batch} clips')
        for target in targets:
            if target.ignore_mask.shape != output['mask_logits'].shape[2:]:
                raise ValueError(
                    f'KMaXCriterion: targets of size {tuple(target.ignore_mask.shape)} for mask '
                    f'logits {tuple(output["mask_logits"].shape)}; build them with mask_size = '
                    'the mask logits\' (h, w)')

    @torch.no_grad()
    def process_targets(self, output: dict, targets: List[InstanceData]) -> dict:
        """Match one output to the targets and lay the targets out per query.

        Returns:
            dict: ``labels`` ``[B, N]`` (C for unmatched), ``masks`` ``[B, N, L]``,
            ``class_weights`` and ``dice_weights`` ``[B, N]`` (the PQ weights), ``void``
            ``[B, L]`` (no matched target) and ``inverse_area`` ``[B, L]``.
        """
        class_logits, mask_logits = output['class_logits'], output['mask_logits']
        batch, num_queries = class_logits.shape[:2]
        mask_logits = mask_logits.flatten(2)
        device = mask_logits.device
        labels = torch.full((batch, num_queries), self.num_classes, dtype=torch.long,
                            device=device)
        masks = torch.zeros_like(mask_logits)
        dice_weights = torch.zeros((batch, num_queries), device=device)
        matched = torch.zeros((batch, num_queries), dtype=torch.bool, device=device)
        matched_dice = torch.zeros((batch, num_queries), device=device)
        for b, target in enumerate(targets):
            gt_masks = target.masks.to(device).float().flatten(1)
            gt_labels = target.labels.to(device)
            if len(gt_labels) == 0:
                continue
            assign = self.assigner.assign(
                InstanceData(scores=class_logits[b], masks=mask_logits[b]),
                InstanceData(labels=gt_labels, masks=gt_masks))
            queries = torch.nonzero(assign.gt_inds > 0).squeeze(1)
            gts = assign.gt_inds[queries] - 1
            probs = mask_logits[b].softmax(0)
            # similarity over all targets, as in the cost: void = no target at all
            dice = pq_mask_similarity(probs[queries], gt_masks)[
                torch.arange(len(gts), device=device), gts]
            cls_prob = pq_class_similarity(class_logits[b][queries], gt_labels[gts]).diagonal()
            labels[b, queries] = gt_labels[gts]
            masks[b, queries] = gt_masks[gts]
            matched[b, queries] = True
            matched_dice[b, queries] = dice
            dice_weights[b, queries] = cls_prob.clamp(min=self.min_weight)

        void = masks.sum(1) < 1
        probs = mask_logits.softmax(1)
        void_overlap = (probs * void[:, None].float()).sum(-1) / (probs.sum(-1) + 1e-5)
        class_weights = torch.where(matched, matched_dice, void_overlap).clamp(min=self.min_weight)
        return dict(labels=labels, masks=masks, class_weights=class_weights,
                    dice_weights=dice_weights, void=void, inverse_area=inverse_mask_area(masks))

    def output_losses(self, output: dict, processed: dict) -> Dict[str, Tensor]:
        """The four matched terms of one output (final or aux) against processed targets."""
        mask_logits = output['mask_logits'].flatten(2)
        losses = {}
        if self.loss_pq_class is not None:
            losses['loss_pq_class'] = self.loss_pq_class(
                output['class_logits'], processed['labels'], processed['class_weights'])
        if self.loss_pq_dice is not None:
            losses['loss_pq_dice'] = self.loss_pq_dice(
                mask_logits, processed['masks'], processed['void'], processed['dice_weights'])
        if self.loss_mask_id is not None:
            losses['loss_mask_id'] = self.loss_mask_id(
                mask_logits, processed['masks'], processed['void'])
        if self.loss_instance_discrimination is not None:
            losses['loss_instance_discrimination'] = self.loss_instance_discrimination(
                output['pixel_feature'].flatten(2), processed['masks'], processed['void'],
                processed['inverse_area'])
        return losses

    def semantic_loss(self, semantic_logits: Tensor, targets: List[InstanceData],
                      processed: dict) -> Tensor:
        """Semantic loss of ``[B * T, C, h, w]`` logits against the targets' ``sem_seg``, with
        the pixels sampled per clip by the final matching's mask areas."""
        batch = len(targets)
        num_frames = targets[0].sem_seg.shape[0]
        if semantic_logits.shape[0] != batch * num_frames or \
                semantic_logits.shape[2:] != targets[0].sem_seg.shape[1:]:
            raise ValueError(f'KMaXCriterion: semantic logits {tuple(semantic_logits.shape)} do '
                             f'not fit {batch} clips of sem_seg {tuple(targets[0].sem_seg.shape)}')
        logits = semantic_logits.reshape(batch, num_frames, *semantic_logits.shape[1:])
        logits = logits.transpose(1, 2).flatten(2)  # B C (T h w)
        labels = torch.stack([target.sem_seg.to(logits.device) for target in targets]).flatten(1)
        return self.loss_semantic(logits, labels, processed['void'], processed['inverse_area'])

"""kMaX-DeepLab's PQ-style matching cost (MaX-DeepLab Sec. 3.2, kMaX-DeepLab Sec. 3.3).

The PQ-style similarity of a mask slot and a ground-truth segment is the product of the slot's
class probability for the segment's class and the dice of the slot's mask-ID probabilities
(softmax over the queries at every pixel) with the segment's mask. mmdet's additive
``ClassificationCost`` / ``DiceCost`` (sigmoid masks) cannot express the product, so this one
cost is used alone in mmdet's ``HungarianAssigner``. In a clip the masks are tubes and the dice
runs over the flattened ``T x H x W`` pixels.
"""
from typing import Optional, Union

import torch
from mmdet.models.task_modules.assigners.match_cost import BaseMatchCost
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.registry import TASK_UTILS


def pq_mask_similarity(mask_probs: Tensor, gt_masks: Tensor, eps: float = 1e-5) -> Tensor:
    """Dice similarity ``[N, M]`` of mask-ID probabilities and ground-truth masks.

    ``sum(p * g) / ((sum(p) + sum(g)) / 2 + eps)``, with ``p`` zeroed on void pixels (those
    covered by no ground-truth mask).

    Args:
        mask_probs (Tensor): ``[N, L]`` probabilities, softmaxed over the N queries.
        gt_masks (Tensor): ``[M, L]`` 0/1 ground-truth masks.
    """
    mask_probs = mask_probs * (gt_masks.sum(0, keepdim=True) > 0).to(mask_probs)
    intersection = mask_probs @ gt_masks.t()
    denominator = (mask_probs.sum(1)[:, None] + gt_masks.sum(1)[None]) / 2
    return intersection / (denominator + eps)


def pq_class_similarity(class_logits: Tensor, gt_labels: Tensor) -> Tensor:
    """Class probability ``[N, M]`` of every query for every ground-truth label; the softmax
    runs over ``C + 1`` logits (the last one is void) and the void column is then dropped."""
    return class_logits.softmax(-1)[:, :-1][:, gt_labels]


@TASK_UTILS.register_module()
class PQStyleMatchCost(BaseMatchCost):
    """``-(mask dice similarity x class probability)`` between queries and ground truth.

    ``pred_instances`` holds ``scores`` (class logits ``[N, C + 1]``, last = void) and
    ``masks`` (mask logits ``[N, ...]``, e.g. ``[N, T, h, w]``); ``gt_instances`` holds
    ``labels`` ``[M]`` and 0/1 ``masks`` ``[M, ...]`` of the same spatial size. The mask logits
    are softmaxed over the N queries at every pixel. Computed in fp32 without gradient.

    Args:
        eps (float): added to the dice denominator.
        weight (float): cost weight.
    """

    def __init__(self, eps: float = 1e-5, weight: Union[float, int] = 1.) -> None:
        super().__init__(weight=weight)
        self.eps = eps

    @torch.no_grad()
    def __call__(self,
                 pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 img_meta: Optional[dict] = None,
                 **kwargs) -> Tensor:
        """Cost matrix ``[N, M]``."""
        mask_logits = pred_instances.masks
        gt_masks = gt_instances.masks
        if mask_logits.shape[1:] != gt_masks.shape[1:]:
            raise ValueError(f'PQStyleMatchCost: predicted masks {tuple(mask_logits.shape)} and '
                             f'ground-truth masks {tuple(gt_masks.shape)} differ in size')
        mask_probs = mask_logits.detach().float().flatten(1).softmax(0)
        mask_sim = pq_mask_similarity(mask_probs, gt_masks.float().flatten(1), self.eps)
        class_sim = pq_class_similarity(pred_instances.scores.detach().float(),
                                        gt_instances.labels)
        return -(mask_sim * class_sim) * self.weight

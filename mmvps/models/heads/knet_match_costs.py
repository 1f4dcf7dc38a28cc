"""K-Net's own mask match costs (the official K-Net / Video K-Net ``MaskHungarianAssigner``).

They differ from mmdet's ``DiceCost`` / ``CrossEntropyLossCost``: the Dice cost has a squared
denominator and no ``1 -``, the mask cost is linear in the probabilities. Both take the
``masks`` of ``pred_instances`` (logits ``[N, h, w]``) and ``gt_instances`` (``[G, h, w]``,
binary or soft) and return an ``[N, G]`` cost.
"""
from typing import Optional

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.registry import TASK_UTILS


@TASK_UTILS.register_module()
class KNetDiceCost:
    """``-2 sum(p t) / (sum(p^2) + eps + sum(t^2) + eps)``, with ``p = sigmoid`` clamped to
    ``[0.001, 1]`` (the constant 1 of the Dice loss is omitted: it does not change the match).

    Args:
        weight (float): cost weight.
        eps (float): added to each sum of squares.
    """

    def __init__(self, weight: float = 1.0, eps: float = 1e-3) -> None:
        self.weight = weight
        self.eps = eps

    def __call__(self, pred_instances: InstanceData, gt_instances: InstanceData,
                 img_meta: Optional[dict] = None, **kwargs) -> Tensor:
        pred = pred_instances.masks.sigmoid().clamp(min=0.001, max=1.0).flatten(1)
        gt = gt_instances.masks.flatten(1).to(pred.dtype)
        numerator = 2 * torch.einsum('nk,mk->nm', pred, gt)
        denominator = (pred * pred).sum(1)[:, None] + self.eps + (gt * gt).sum(1)[None] + self.eps
        return -numerator / denominator * self.weight


@TASK_UTILS.register_module()
class KNetMaskCost:
    """``-(sum(p t) + sum((1 - p)(1 - t))) / (h w)``, with ``p = sigmoid`` clamped to
    ``[0.01, 1]``: minus the mean per-pixel agreement.

    Args:
        weight (float): cost weight.
    """

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def __call__(self, pred_instances: InstanceData, gt_instances: InstanceData,
                 img_meta: Optional[dict] = None, **kwargs) -> Tensor:
        pred = pred_instances.masks.sigmoid().clamp(min=0.01, max=1.0).flatten(1)
        gt = gt_instances.masks.flatten(1).to(pred.dtype)
        agreement = torch.einsum('nk,mk->nm', pred, gt) + \
            torch.einsum('nk,mk->nm', 1 - pred, 1 - gt)
        return -agreement / pred.shape[1] * self.weight

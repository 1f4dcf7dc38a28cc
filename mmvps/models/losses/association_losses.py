"""The two kernel association losses of Video K-Net (Eq. 1 and Eq. 2).

Both take a similarity matrix between the ``V`` key-frame samples (rows) and the ``K``
reference-frame targets (columns) and a binary target matrix (1: same object, 0: different).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmdet.models.losses.utils import weight_reduce_loss
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.registry import MODELS


def _check_pair_shapes(name: str, pred: Tensor, target: Tensor) -> None:
    if pred.dim() != 2 or pred.shape != target.shape:
        raise ValueError(f'{name}: expected a [V, K] prediction and a target of the same shape, '
                         f'got {tuple(pred.shape)} and {tuple(target.shape)}')


@MODELS.register_module()
class AssociationContrastiveLoss(BaseModule):
    """Contrastive tracking loss of Video K-Net (Eq. 1):

    ``L_track = - sum_{k+} log(exp(v.k+) / (exp(v.k+) + sum_{k-} exp(v.k-)))``

    summed over each positive target ``k+`` of a key sample ``v`` and averaged over the key
    samples that have at least one positive (the others carry no association signal). With a
    single positive per sample (one kernel per object after Hungarian matching) it equals
    mmdet's ``MultiPosCrossEntropyLoss``; with several it keeps the paper's sum over positives.

    Args:
        reduction (str): ``'mean'`` (over key samples), ``'sum'`` or ``'none'``.
        loss_weight (float): lambda_track.
    """

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                similarity: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        """Args:
            similarity (Tensor): ``[V, K]`` dot products ``v . k``.
            target (Tensor): ``[V, K]``, 1 where ``k`` is a positive of ``v``, 0 otherwise.
            weight (Tensor, optional): ``[V]`` per-sample weights; defaults to 1 for the samples
                with a positive and 0 for the others.
            avg_factor (float, optional): divisor of the mean; defaults to the weight sum.
        """
        _check_pair_shapes(type(self).__name__, similarity, target)
        pos = target > 0
        num_keys, num_refs = similarity.shape
        # log(exp(v.k+) + sum_k- exp(v.k-)) for every (v, k+): the positive logit first, then
        # the negatives of the row; masked entries are -inf (the positive keeps it finite).
        neg_logits = similarity.masked_fill(pos, float('-inf'))
        stacked = torch.cat([
            similarity.unsqueeze(-1),
            neg_logits.unsqueeze(1).expand(num_keys, num_refs, num_refs)
        ], dim=-1)
        pair_loss = torch.logsumexp(stacked, dim=-1) - similarity
        loss = (pair_loss * pos.float()).sum(dim=1)
        if weight is None:
            weight = pos.any(dim=1).float()
        if avg_factor is None and self.reduction == 'mean':
            avg_factor = weight.sum()
        loss = weight_reduce_loss(
            loss, weight=weight.float(), reduction=self.reduction, avg_factor=avg_factor)
        return self.loss_weight * loss


@MODELS.register_module()
class AssociationL2Loss(BaseModule):
    """Auxiliary tracking loss of Video K-Net (Eq. 2): ``(cos(v, k) - c)^2`` with ``c = 1`` for
    positive pairs and 0 otherwise, averaged over all key/reference pairs.

    By default (the paper) there is no margin, no clamping and no hard negative mining: the
    sparse set of matched kernels is kept as it is. The official code uses QDTrack's ``L2Loss``
    instead (``pos_margin=0, neg_margin=0.1, neg_pos_ub=3, hard_mining=True``): the cosine of
    positive / negative pairs is lowered by the margins and clamped to ``[0, 1]``; when there
    are more than ``neg_pos_ub * (num_pos + 1)`` negatives only the ``neg_pos_ub * num_pos``
    with the largest loss are kept; the mean runs over the kept pairs.

    Args:
        reduction (str): ``'mean'`` (over pairs), ``'sum'`` or ``'none'``.
        loss_weight (float): lambda_aux.
        pos_margin (float): margin subtracted from positive pairs (QDTrack mode).
        neg_margin (float): margin subtracted from negative pairs (QDTrack mode).
        neg_pos_ub (int): negatives kept per positive; <= 0 keeps all.
        hard_mining (bool): keep the hardest negatives (else a random subset).
        qdtrack (bool): use the QDTrack margins, clamping and mining above.
    """

    def __init__(self,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 pos_margin: float = 0.0,
                 neg_margin: float = 0.1,
                 neg_pos_ub: int = 3,
                 hard_mining: bool = True,
                 qdtrack: bool = False) -> None:
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.pos_margin = pos_margin
        self.neg_margin = neg_margin
        self.neg_pos_ub = neg_pos_ub
        self.hard_mining = hard_mining
        self.qdtrack = qdtrack

    def forward(self,
                cosine: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        """Args:
            cosine (Tensor): ``[V, K]`` cosine similarities.
            target (Tensor): ``[V, K]`` binary match targets ``c``.
            weight (Tensor, optional): ``[V, K]`` pair weights.
            avg_factor (float, optional): divisor of the mean.
        """
        _check_pair_shapes(type(self).__name__, cosine, target)
        if self.qdtrack:
            cosine, weight, avg_factor = self._qdtrack_weights(cosine, target, weight)
        loss = F.mse_loss(cosine, target.to(cosine.dtype), reduction='none')
        if weight is not None:
            weight = weight.float()
        loss = weight_reduce_loss(
            loss, weight=weight, reduction=self.reduction, avg_factor=avg_factor)
        return self.loss_weight * loss

    def _qdtrack_weights(self, cosine: Tensor, target: Tensor, weight: Optional[Tensor]):
        """QDTrack's margins, clamping and negative mining: ``(cosine, weight, avg_factor)``."""
        valid = torch.ones_like(cosine, dtype=torch.bool) if weight is None else weight > 0
        pos = (target == 1) & valid
        neg = (target == 0) & valid
        cosine = cosine - self.pos_margin * pos.to(cosine.dtype) \
            - self.neg_margin * neg.to(cosine.dtype)
        cosine = cosine.clamp(min=0, max=1)
        num_pos, num_neg = int(pos.sum()), int(neg.sum())
        if self.neg_pos_ub > 0 and num_neg / (num_pos + 1) > self.neg_pos_ub:
            num_keep = num_pos * self.neg_pos_ub
            neg_idx = torch.nonzero(neg)
            if self.hard_mining:
                costs = (cosine.detach() - target.to(cosine.dtype))[neg] ** 2
                neg_idx = neg_idx[costs.topk(num_keep)[1]]
            else:
                neg_idx = neg_idx[torch.randperm(len(neg_idx), device=cosine.device)[:num_keep]]
            neg = torch.zeros_like(neg)
            neg[neg_idx[:, 0], neg_idx[:, 1]] = True
        kept = (pos | neg).to(cosine.dtype)
        return cosine, kept, kept.sum().clamp(min=1)

"""The losses of kMaX-DeepLab (MaX-DeepLab's PQ-style loss and its auxiliary terms).

Every mask term sees the mask-ID view: the N mask logits of a pixel are softmaxed over the N
queries. Pixels are flattened, so in a clip a "pixel" is one of ``L = T x H x W`` positions and
a mask is a tube. Each loss is averaged per clip first, then over the batch, as the reference
implementations do. Void pixels (covered by no matched ground truth) are excluded everywhere.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.registry import MODELS


def gumbel_topk_sample(logits: Tensor, k: int) -> Tensor:
    """Indices ``[B, k]`` of ``k`` draws without replacement from ``softmax(logits)`` per row of
    ``[B, L]`` logits (Gumbel-top-k trick)."""
    uniform = torch.rand_like(logits).clamp_(min=torch.finfo(logits.dtype).tiny)
    return (logits - torch.log(-torch.log(uniform))).topk(k, dim=1).indices


def inverse_mask_area(targets: Tensor) -> Tensor:
    """``L / area`` of the ground-truth mask covering each pixel (``[B, N, L]`` targets ->
    ``[B, L]``); the area of a void pixel counts as 1. The pixel-sampling weight of the instance
    discrimination and semantic losses: small segments get as many samples as large ones."""
    area = torch.einsum('bnl,bn->bl', targets, targets.sum(-1))
    return targets.shape[-1] / area.clamp(min=1)


def _sample_pixels(void: Tensor, inverse_area: Tensor, num_samples: int,
                   temperature: float) -> Tensor:
    """``[B, K]`` pixel indices drawn with logits ``log(inverse_area) * temperature``; void
    pixels come last (drawn only when fewer than ``K`` pixels are valid)."""
    logits = (inverse_area.log() * temperature).masked_fill(void, float('-inf'))
    return gumbel_topk_sample(logits, min(num_samples, void.shape[-1]))


def _mean_per_clip(loss: Tensor, valid: Tensor) -> Tensor:
    """Mean of ``[B, X]`` losses over the valid entries of each clip, then over the clips."""
    loss = loss * valid.to(loss)
    return (loss.sum(-1) / valid.sum(-1).clamp(min=1).to(loss)).mean()


@MODELS.register_module()
class PQStyleClassLoss(BaseModule):
    """PQ-style classification term: cross-entropy of every query's class logits with its
    target (the matched class, void for unmatched queries), weighted ``alpha`` for real classes
    and ``1 - alpha`` for void ("focal" alpha without focusing), times the PQ weight of the
    query (its matched dice, or for an unmatched query its overlap with the void region),
    averaged over the weighted queries of a clip and then over the clips.

    Args:
        alpha (float): weight of non-void targets (void targets get ``1 - alpha``).
        loss_weight (float): kMaX 3.0 (PQ-style weight); MaXTron VIPSeg 4.0.
    """

    def __init__(self, alpha: float = 0.75, loss_weight: float = 3.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.loss_weight = loss_weight

    def forward(self, class_logits: Tensor, labels: Tensor, weights: Tensor) -> Tensor:
        """Args:
            class_logits (Tensor): ``[B, N, C + 1]`` (last = void).
            labels (Tensor): ``[B, N]`` targets in ``0..C`` (``C`` = void).
            weights (Tensor): ``[B, N]`` PQ weights; queries with weight 0 are left out.
        """
        void_class = class_logits.shape[-1] - 1
        loss = F.cross_entropy(class_logits.transpose(1, 2), labels, reduction='none')
        alpha = torch.where(labels == void_class, 1 - self.alpha, self.alpha)
        return self.loss_weight * _mean_per_clip(loss * alpha * weights, weights > 0)


@MODELS.register_module()
class PQStyleDiceLoss(BaseModule):
    """PQ-style mask term: ``1 - (2 sum(p g) + s) / (sum(p) + sum(g) + s)`` per query, with
    ``p`` the mask-ID probabilities (zero on void pixels) and ``g`` its target mask, times the
    query's PQ weight (its matched class probability, 0 when unmatched), summed over the queries
    times ``alpha / N`` and averaged over the clips.

    Args:
        alpha (float): the 0.75 factor of the reference (DeepLab2's loss modifier).
        smooth (float): ``s``.
        loss_weight (float): kMaX 3.0; MaXTron VIPSeg 5.0.
    """

    def __init__(self, alpha: float = 0.75, smooth: float = 1.0,
                 loss_weight: float = 3.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.smooth = smooth
        self.loss_weight = loss_weight

    def forward(self, mask_logits: Tensor, targets: Tensor, void: Tensor,
                weights: Tensor) -> Tensor:
        """Args:
            mask_logits (Tensor): ``[B, N, L]``.
            targets (Tensor): ``[B, N, L]`` target masks (zero for unmatched queries).
            void (Tensor): ``[B, L]`` bool.
            weights (Tensor): ``[B, N]``.
        """
        probs = mask_logits.softmax(1).masked_fill(void[:, None], 0)
        dice = (2 * (probs * targets).sum(-1) + self.smooth) / (
            probs.sum(-1) + targets.sum(-1) + self.smooth)
        loss = ((1 - dice) * weights).sum(1) * self.alpha / mask_logits.shape[1]
        return self.loss_weight * loss.mean()


@MODELS.register_module()
class MaskIDCrossEntropyLoss(BaseModule):
    """Mask-ID cross-entropy: at every non-void pixel, cross-entropy of the softmax over the N
    queries with the matched query (targets divided by their per-pixel sum, so overlapping
    targets share the pixel), averaged over the non-void pixels of a clip, then over the clips.

    Args:
        loss_weight (float): kMaX 0.3; MaXTron VIPSeg 0.1.
    """

    def __init__(self, loss_weight: float = 0.3) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, mask_logits: Tensor, targets: Tensor, void: Tensor) -> Tensor:
        """Args:
            mask_logits (Tensor): ``[B, N, L]``.
            targets (Tensor): ``[B, N, L]`` target masks.
            void (Tensor): ``[B, L]`` bool.
        """
        coverage = targets.sum(1)
        targets = targets / coverage.clamp(min=1)[:, None]
        loss = -(targets * mask_logits.log_softmax(1)).sum(1)
        return self.loss_weight * _mean_per_clip(loss, ~void & (coverage > 0))


@MODELS.register_module()
class PixelInstanceDiscriminationLoss(BaseModule):
    """Pixel-wise instance discrimination: ``K`` non-void pixels of a clip are drawn by
    Gumbel-top-k with logits ``log(L / area of the pixel's mask) * sample_temperature``; for each
    sampled pixel the target is the distribution over the sampled pixels of its own mask
    (uniform over them), the prediction the softmax of the dot products of the L2-normalised
    pixel embeddings divided by ``temperature``; soft cross-entropy averaged over the sampled
    pixels of a clip, then over the clips. In a clip, pixels of one tube in different frames are
    positives of each other.

    Args:
        num_samples (int): ``K`` (4096; at most ``L``).
        sample_temperature (float): kMaX COCO 1.5, Cityscapes 0.6, MaXTron VIPSeg 1.8.
        temperature (float): divisor of the dot products (0.3).
        loss_weight (float): 1.0.
    """

    def __init__(self, num_samples: int = 4096, sample_temperature: float = 1.5,
                 temperature: float = 0.3, loss_weight: float = 1.0) -> None:
        super().__init__()
        if num_samples < 1:
            raise ValueError(f'PixelInstanceDiscriminationLoss: num_samples must be >= 1, got '
                             f'{num_samples}')
        self.num_samples = num_samples
        self.sample_temperature = sample_temperature
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, pixel_feature: Tensor, targets: Tensor, void: Tensor,
                inverse_area: Tensor) -> Tensor:
        """Args:
            pixel_feature (Tensor): ``[B, E, L]`` L2-normalised pixel embeddings.
            targets (Tensor): ``[B, N, L]`` target masks.
            void (Tensor): ``[B, L]`` bool.
            inverse_area (Tensor): ``[B, L]`` from :func:`inverse_mask_area`.
        """
        with torch.no_grad():
            inds = _sample_pixels(void, inverse_area, self.num_samples, self.sample_temperature)
            gt = targets.gather(2, inds[:, None].expand(-1, targets.shape[1], -1))  # B N K
            same = torch.einsum('bnk,bnj->bkj', gt, gt)
            same = same / same.sum(1, keepdim=True).clamp(min=1)
        feats = pixel_feature.gather(2, inds[:, None].expand(-1, pixel_feature.shape[1], -1))
        logits = torch.einsum('bek,bej->bkj', feats, feats) / self.temperature
        loss = -(same * logits.log_softmax(1)).sum(1)  # B K
        return self.loss_weight * _mean_per_clip(loss, ~void.gather(1, inds))


@MODELS.register_module()
class SampledSemanticLoss(BaseModule):
    """Auxiliary semantic cross-entropy on ``K`` pixels drawn like the instance discrimination
    pixels (logits ``log(L / mask area) * sample_temperature``, void pixels last), or on every
    pixel when ``num_samples=0``; ignored labels are left out; mean over the kept pixels of a
    clip, then over the clips.

    Args:
        num_samples (int): ``K`` (4096); 0 uses every pixel (kMaX Cityscapes).
        sample_temperature (float): kMaX COCO 2.0, MaXTron VIPSeg 2.4.
        ignore_index (int): label of void pixels.
        loss_weight (float): 1.0.
    """

    def __init__(self, num_samples: int = 4096, sample_temperature: float = 2.0,
                 ignore_index: int = 255, loss_weight: float = 1.0) -> None:
        super().__init__()
        if num_samples < 0:
            raise ValueError(f'SampledSemanticLoss: num_samples must be >= 0, got {num_samples}')
        self.num_samples = num_samples
        self.sample_temperature = sample_temperature
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight

    def forward(self, semantic_logits: Tensor, labels: Tensor, void: Optional[Tensor] = None,
                inverse_area: Optional[Tensor] = None) -> Tensor:
        """Args:
            semantic_logits (Tensor): ``[B, C, L]``.
            labels (Tensor): ``[B, L]`` long, ``ignore_index`` on void.
            void (Tensor, optional): ``[B, L]`` bool pixels never to sample (defaults to the
                ignored labels).
            inverse_area (Tensor, optional): ``[B, L]`` sampling weights; needed when
                ``num_samples > 0``.
        """
        if self.num_samples > 0:
            if inverse_area is None:
                raise ValueError('SampledSemanticLoss: inverse_area is needed to sample pixels '
                                 '(num_samples > 0)')
            if void is None:
                void = labels == self.ignore_index
            inds = _sample_pixels(void, inverse_area, self.num_samples, self.sample_temperature)
            labels = labels.gather(1, inds)
            semantic_logits = semantic_logits.gather(
                2, inds[:, None].expand(-1, semantic_logits.shape[1], -1))
        valid = labels != self.ignore_index
        loss = F.cross_entropy(semantic_logits, labels.masked_fill(~valid, 0), reduction='none')
        return self.loss_weight * _mean_per_clip(loss, valid)

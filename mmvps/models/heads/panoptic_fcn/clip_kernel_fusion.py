"""Clip-PanoFCN's clip-level kernel fusion (paper Sec. 4.2 "Clip-fused Kernel"; spec
clip_panofcn.md Sec. 4.3): the kernels of all frames and levels of a clip become one kernel per
thing identity and one per stuff class."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmvps.registry import TASK_UTILS


@TASK_UTILS.register_module()
class ClipKernelFusion:
    """Merge the projected thing / stuff kernel candidates of one clip.

    Things (leader clustering, the released code's rule): candidates are visited in descending
    score. A candidate is a *leader* when no higher-scored candidate (of the same class when
    ``class_specific``) has cosine similarity ``>= similarity_threshold`` with it. Every other
    candidate belongs to the *first* (highest-scored) such candidate; when that one is not a
    leader itself, the candidate is dropped (it is not chained to a leader further up). A fused
    kernel is the mean of its leader and members; class and score are the leader's.

    Stuff: the mean of the kernels of one class and the mean of their scores, classes in
    ascending order.

    Args:
        similarity_threshold (float): cosine a candidate needs to join a higher-scored one
            (``INFERENCE.SIMILAR_THRES``). Defaults to 0.9.
        class_specific (bool): only candidates of one class merge (``CLASS_SPECIFIC``).
            Defaults to True.
    """

    def __init__(self, similarity_threshold: float = 0.9, class_specific: bool = True) -> None:
        if not -1.0 <= similarity_threshold <= 1.0:
            raise ValueError(f'ClipKernelFusion: similarity_threshold must be a cosine in '
                             f'[-1, 1], got {similarity_threshold}')
        self.similarity_threshold = similarity_threshold
        self.class_specific = class_specific

    @staticmethod
    def _check(kernels: Tensor, scores: Tensor, labels: Tensor, what: str) -> None:
        if kernels.dim() != 2 or scores.shape != (len(kernels), ) or \
                labels.shape != (len(kernels), ):
            raise ValueError(f'ClipKernelFusion.{what}: need kernels [N, E], scores [N] and '
                             f'labels [N], got {tuple(kernels.shape)}, {tuple(scores.shape)} '
                             f'and {tuple(labels.shape)}')

    def group_things(self, kernels: Tensor, scores: Tensor, labels: Tensor) -> Tensor:
        """Leader of every candidate (``[N]`` long, its own index for a leader, -1 for a
        dropped one); indices refer to the candidates in the given order, which must be by
        descending score."""
        self._check(kernels, scores, labels, 'group_things')
        num = len(kernels)
        if num == 0:
            return labels.new_zeros(0)
        if (scores[1:] > scores[:-1]).any():
            raise ValueError('ClipKernelFusion.group_things: candidates must be sorted by '
                             'descending score')
        unit = F.normalize(kernels.float(), dim=1, eps=1e-8)
        similar = unit @ unit.t() >= self.similarity_threshold
        if self.class_specific:
            similar &= labels[:, None] == labels[None, :]
        # column j: the candidates i <= j that j would join (itself always counts)
        similar = similar.triu(1) | torch.eye(num, dtype=torch.bool, device=kernels.device)
        first = similar.long().argmax(dim=0)  # the highest-scored candidate j joins
        is_leader = first == torch.arange(num, device=kernels.device)
        return torch.where(is_leader[first], first, first.new_full((), -1))

    def fuse_things(self, kernels: Tensor, scores: Tensor,
                    labels: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Fused thing kernels ``[K, E]``, scores ``[K]`` and labels ``[K]`` in leader order
        (descending score); candidates in descending score order."""
        leaders = self.group_things(kernels, scores, labels)
        leader_inds = torch.nonzero(leaders == torch.arange(len(leaders),
                                                            device=leaders.device)).squeeze(1)
        members = (leaders[None, :] == leader_inds[:, None]).to(kernels.dtype)  # [K, N]
        fused = members @ kernels / members.sum(dim=1, keepdim=True).clamp(min=1)
        return fused, scores[leader_inds], labels[leader_inds]

    def fuse_stuff(self, kernels: Tensor, scores: Tensor,
                   labels: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Per class (ascending) the mean kernel ``[U, E]``, the mean score ``[U]`` and the
        class ``[U]``."""
        self._check(kernels, scores, labels, 'fuse_stuff')
        classes, index = torch.unique(labels, return_inverse=True)
        members = (index[None, :] == torch.arange(len(classes), device=labels.device)[:, None])
        members = members.to(kernels.dtype)
        counts = members.sum(dim=1, keepdim=True)
        return members @ kernels / counts, (members @ scores[:, None].to(kernels.dtype) /
                                            counts).squeeze(1), classes

    def __call__(self, candidates: dict) -> dict:
        """Fuse a clip's candidates (``PanopticFCNHead.get_clip_candidates`` keys
        ``thing_kernels / thing_scores / thing_labels`` and ``stuff_*``); returns the same keys
        with the fused kernels (other keys are passed through)."""
        missing = [f'{kind}_{key}' for kind in ('thing', 'stuff')
                   for key in ('kernels', 'scores', 'labels')
                   if f'{kind}_{key}' not in candidates]
        if missing:
            raise KeyError(f'ClipKernelFusion: the candidates lack {missing}')
        fused = dict(candidates)
        order = torch.sort(candidates['thing_scores'], descending=True, stable=True)[1]
        (fused['thing_kernels'], fused['thing_scores'], fused['thing_labels']) = self.fuse_things(
            candidates['thing_kernels'][order], candidates['thing_scores'][order],
            candidates['thing_labels'][order])
        (fused['stuff_kernels'], fused['stuff_scores'], fused['stuff_labels']) = self.fuse_stuff(
            candidates['stuff_kernels'], candidates['stuff_scores'], candidates['stuff_labels'])
        return fused

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(similarity_threshold={self.similarity_threshold}, '
                f'class_specific={self.class_specific})')

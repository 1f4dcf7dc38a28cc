"""Clip-PanoFCN's inter-clip tracking (paper Sec. 4.2 "Inter-clip Tracking"; spec
clip_panofcn.md Sec. 5, the released ``eval_net_video.py``): fused thing kernels of
non-overlapping clips matched against a per-class memory with momentum."""
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mmvps.registry import MODELS


def match_with_cost_limit(cost: np.ndarray, cost_limit: float) -> List[Tuple[int, int]]:
    """Minimum-cost partial assignment in which leaving a row or a column unmatched costs
    ``cost_limit / 2`` each: the ``lap.lapjv(cost, extend_cost=True, cost_limit=...)`` problem
    of the released code, solved exactly with scipy on lap's augmented ``(n + m)`` square
    matrix ``[[cost, limit / 2], [limit / 2, 0]]``. A pair only pays off when its cost is below
    ``cost_limit``; returns the matched ``(row, column)`` pairs, rows ascending."""
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f'match_with_cost_limit: cost must be a 2-d matrix, got shape '
                         f'{cost.shape}')
    if not np.isfinite(cost_limit) or cost_limit <= 0:
        raise ValueError(f'match_with_cost_limit: cost_limit must be a positive finite '
                         f'number, got {cost_limit}')
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return []
    extended = np.full((rows + cols, rows + cols), cost_limit / 2.0)
    extended[:rows, :cols] = cost
    extended[rows:, cols:] = 0.0
    row_ind, col_ind = linear_sum_assignment(extended)
    return [(int(r), int(c)) for r, c in zip(row_ind, col_ind) if r < rows and c < cols]


@MODELS.register_module()
class InterClipKernelTracker:
    """Per-class memory of L2-normalised fused thing kernels, one per track of the video.

    For each class of a new clip (its things in the merge's order): a class not in memory
    appends all its kernels; otherwise the cost ``(1 - cos) / 2`` between the clip's kernels
    and the class's memory is solved by :func:`match_with_cost_limit` (a match needs cost <
    ``cost_limit``, i.e. cos > ``1 - 2 cost_limit``). A matched entry takes the track and is
    updated to ``normalise(memory_weight * memory + (1 - memory_weight) * kernel)``; an
    unmatched kernel is appended as a new entry. Entries are never forgotten.

    Track ids are per class: entry ``k`` of a class is track ``k + 1`` (the released code's
    ``cat * 100 + k``; 0 is no track in mmvps' panoptic maps), so ``(class, track)`` names a
    track. :meth:`reset` starts a new video.

    Args:
        memory_weight (float): weight of the memory in the update (``TEST.MEM_WEIGHT``).
            Defaults to 0.8.
        cost_limit (float): ``TEST.COST_THRESHOLD``. Defaults to 0.3.
    """

    def __init__(self, memory_weight: float = 0.8, cost_limit: float = 0.3) -> None:
        if not 0.0 <= memory_weight <= 1.0:
            raise ValueError(f'InterClipKernelTracker: memory_weight must lie in [0, 1], got '
                             f'{memory_weight}')
        if not 0.0 < cost_limit:
            raise ValueError(f'InterClipKernelTracker: cost_limit must be > 0, got {cost_limit}')
        self.memory_weight = memory_weight
        self.cost_limit = cost_limit
        self.reset()

    def reset(self) -> None:
        """Forget every track (a new video)."""
        self.memory: Dict[int, Tensor] = {}

    def update(self, labels: Tensor, embeds: Tensor) -> Tensor:
        """Track ids ``[N]`` (long, >= 1) of a clip's ``N`` thing kernels ``embeds [N, D]`` of
        classes ``labels [N]``; updates the memory."""
        if embeds.dim() != 2 or labels.shape != (len(embeds), ):
            raise ValueError(f'InterClipKernelTracker.update: need labels [N] and embeds [N, D],'
                             f' got {tuple(labels.shape)} and {tuple(embeds.shape)}')
        ids = torch.zeros(len(labels), dtype=torch.long, device=labels.device)
        unit = F.normalize(embeds.detach().float(), dim=1)
        for label in torch.unique(labels).tolist():
            inds = torch.nonzero(labels == label).squeeze(1)
            current = unit[inds]
            memory = self.memory.get(label)
            if memory is None:
                self.memory[label] = current.clone()
                ids[inds] = torch.arange(1, len(inds) + 1, device=ids.device)
                continue
            if memory.shape[1] != current.shape[1]:
                raise ValueError(f'InterClipKernelTracker.update: class {label} has '
                                 f'{memory.shape[1]}-d kernels in memory, got '
                                 f'{current.shape[1]}-d ones')
            cost = (1.0 - current @ memory.to(current.device).t()) / 2.0
            matches = match_with_cost_limit(cost.cpu().numpy(), self.cost_limit)
            memory = memory.clone()
            matched = torch.zeros(len(inds), dtype=torch.bool, device=inds.device)
            for cur, mem in matches:
                memory[mem] = F.normalize(self.memory_weight * memory[mem] +
                                          (1.0 - self.memory_weight) * current[cur], dim=0)
                ids[inds[cur]] = mem + 1
                matched[cur] = True
            new = torch.nonzero(~matched).squeeze(1)
            ids[inds[new]] = torch.arange(len(memory) + 1, len(memory) + len(new) + 1,
                                          device=ids.device)
            self.memory[label] = torch.cat([memory, current[new.to(current.device)]])
        return ids

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(memory_weight={self.memory_weight}, '
                f'cost_limit={self.cost_limit})')

"""InterClipKernelTracker (Clip-PanoFCN spec Sec. 5): lap-equivalent matching, memory with
momentum, new ids, per-video reset."""
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmvps.models.trackers import InterClipKernelTracker, match_with_cost_limit
from mmvps.registry import MODELS


def brute_force(cost, limit):
    """Best value of sum(cost - limit) over all partial matchings (lap's objective minus a
    constant) and the set of optimal matchings."""
    rows, cols = cost.shape
    best, best_sets = 0.0, [frozenset()]
    for k in range(1, min(rows, cols) + 1):
        for rs in itertools.combinations(range(rows), k):
            for cs in itertools.permutations(range(cols), k):
                value = sum(cost[r, c] - limit for r, c in zip(rs, cs))
                pairs = frozenset(zip(rs, cs))
                if value < best - 1e-12:
                    best, best_sets = value, [pairs]
                elif abs(value - best) <= 1e-12:
                    best_sets.append(pairs)
    return best, best_sets


@pytest.mark.parametrize('seed', range(40))
def test_matching_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(1, 5, size=2)
    cost = rng.uniform(0, 0.6, size=(rows, cols))
    limit = 0.3
    pairs = match_with_cost_limit(cost, limit)
    best, best_sets = brute_force(cost, limit)
    assert sum(cost[r, c] - limit for r, c in pairs) == pytest.approx(best, abs=1e-12)
    assert frozenset(pairs) in best_sets
    assert all(cost[r, c] < limit for r, c in pairs)  # a pair at or above the limit never pays


def test_matching_cost_limit_cases():
    cost = np.array([[0.1, 0.25], [0.2, 0.29]])
    # both pairings possible: 0.1 + 0.29 = 0.39 vs 0.25 + 0.2 = 0.45: rows to their best sum
    assert match_with_cost_limit(cost, 0.3) == [(0, 0), (1, 1)]
    # limit 0.22: only pairs below 0.22 pay off, and at most one per row/col
    assert match_with_cost_limit(cost, 0.22) == [(0, 0)]
    assert match_with_cost_limit(np.zeros((0, 3)), 0.3) == []
    with pytest.raises(ValueError, match='cost_limit'):
        match_with_cost_limit(cost, 0.0)


def angle(deg, dim=4):
    a = math.radians(deg)
    return torch.tensor([math.cos(a), math.sin(a)] + [0.0] * (dim - 2))


def test_memory_momentum_new_ids_and_reset():
    tracker = MODELS.build(dict(type='InterClipKernelTracker'))
    # clip 1: class 0 has two things, class 2 one; ids per class from 1 in the given order
    ids = tracker.update(torch.tensor([0, 2, 0]),
                         torch.stack([angle(0) * 3, angle(200), angle(90) * 0.5]))
    assert ids.tolist() == [1, 1, 2]
    torch.testing.assert_close(tracker.memory[0], torch.stack([angle(0), angle(90)]))

    # clip 2: class 0: a kernel at 150 deg (cost to the 90 deg entry (1 - 0.5) / 2 = 0.25 < 0.3:
    # track 2) and one at 10 deg (cost to the 0 deg entry 0.0076: track 1); a new class 1
    # starts its own numbering
    ids = tracker.update(torch.tensor([0, 0, 1]),
                         torch.stack([angle(150), angle(10), angle(45)]))
    assert ids.tolist() == [2, 1, 1]
    expected0 = F.normalize(0.8 * angle(0) + 0.2 * angle(10), dim=0)
    expected1 = F.normalize(0.8 * angle(90) + 0.2 * angle(150), dim=0)
    torch.testing.assert_close(tracker.memory[0], torch.stack([expected0, expected1]))
    assert tracker.memory[0].norm(dim=1).tolist() == pytest.approx([1.0, 1.0])

    # clip 3: a class-0 kernel far from both entries (cos < 0.4 -> cost > 0.3) is new: id 3
    ids = tracker.update(torch.tensor([0, 0]), torch.stack([angle(-100), angle(5)]))
    assert ids.tolist() == [3, 1]
    assert len(tracker.memory[0]) == 3
    torch.testing.assert_close(tracker.memory[0][2], angle(-100))
    # class 2 was absent: its entry is kept unchanged (no ageing)
    torch.testing.assert_close(tracker.memory[2], angle(200)[None])

    tracker.reset()
    assert tracker.memory == {}
    assert tracker.update(torch.tensor([0]), angle(-100)[None]).tolist() == [1]


def test_cost_limit_boundary():
    tracker = InterClipKernelTracker(cost_limit=0.3)
    tracker.update(torch.tensor([0]), angle(0)[None])
    # cos 0.45 -> cost 0.275 < 0.3: match; cos 0.35 -> cost 0.325: new track
    matched = math.degrees(math.acos(0.45))
    unmatched = math.degrees(math.acos(0.35))
    assert tracker.update(torch.tensor([0]), angle(matched)[None]).tolist() == [1]
    tracker.reset()
    tracker.update(torch.tensor([0]), angle(0)[None])
    assert tracker.update(torch.tensor([0]), angle(unmatched)[None]).tolist() == [2]


def test_momentum_weight_and_bad_input():
    tracker = InterClipKernelTracker(memory_weight=0.0)  # memory replaced by the new kernel
    tracker.update(torch.tensor([1]), angle(0)[None])
    tracker.update(torch.tensor([1]), angle(30)[None])
    torch.testing.assert_close(tracker.memory[1][0], angle(30))
    with pytest.raises(ValueError, match='labels \\[N\\] and embeds \\[N, D\\]'):
        tracker.update(torch.tensor([0, 1]), torch.zeros(3, 4))
    with pytest.raises(ValueError, match='4-d kernels in memory'):
        tracker.update(torch.tensor([1]), torch.zeros(1, 6))
    with pytest.raises(ValueError, match='memory_weight'):
        InterClipKernelTracker(memory_weight=1.5)

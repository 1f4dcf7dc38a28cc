"""HiLA-MB (Video-kMaX Eq. 3-5) on hand-made objects."""
import math

import pytest
import torch

from mmvps.models.trackers import HiLAMemoryBuffer
from mmvps.registry import MODELS
from mmvps.utils import register_all_modules

register_all_modules()


def box(x, y=0.3, w=0.2, h=0.2):
    return [x, y, x + w, y + h]


def step(memory, frame_id, labels, embeds, boxes, assigned=None):
    return memory.update(frame_id, torch.tensor(labels), torch.tensor(embeds, dtype=torch.float),
                         torch.tensor(boxes, dtype=torch.float), assigned).tolist()


def empty_step(memory, frame_id, dim=2):
    """A frame without objects (the memory still ages)."""
    return memory.update(frame_id, torch.zeros(0, dtype=torch.long), torch.zeros(0, dim),
                         torch.zeros(0, 4)).tolist()


def test_build_defaults_and_new_ids():
    memory = MODELS.build(dict(type='HiLAMemoryBuffer'))
    assert (memory.momentum, memory.location_temperature, memory.refresh_frames,
            memory.match_threshold, memory.use_appearance, memory.use_location,
            memory.class_aware) == (0.8, 1.0, 10, 0.7, True, True, True)
    ids = step(memory, 0, [0, 0, 1], [[1, 0], [0, 1], [1, 1]], [box(0.1), box(0.5), box(0.7)])
    assert ids == [1, 2, 3]
    assert memory.num_entries == 3
    # an object unlike every entry (orthogonal appearance) gets a new id
    assert step(memory, 1, [0], [[-1, 1]], [box(0.1)]) == [4]
    memory.reset()
    assert memory.num_entries == 0
    assert step(memory, 5, [0], [[1, 0]], [box(0.1)]) == [1]


def test_similarity_matches_hand_computation():
    memory = HiLAMemoryBuffer(location_temperature=0.5)
    q, q_mem = torch.tensor([[1., 2., 2.]]), torch.tensor([[2., 1., 2.]])
    b, b_mem = torch.tensor([[0.1, 0.2, 0.3, 0.4]]), torch.tensor([[0.2, 0.2, 0.3, 0.6]])
    # cos = 8 / 9; ||b - b_mem||^2 = 0.01 + 0.04 = 0.05; exp(-0.05 / 0.5)
    expected = math.exp(-0.1) * 8 / 9
    assert memory.similarity(q, b, q_mem, b_mem).item() == pytest.approx(expected, abs=1e-6)
    appearance = HiLAMemoryBuffer(use_location=False)
    assert appearance.similarity(q, b, q_mem, b_mem).item() == pytest.approx(8 / 9, abs=1e-6)
    location = HiLAMemoryBuffer(use_appearance=False, location_temperature=0.5)
    assert location.similarity(q, b, q_mem, b_mem).item() == pytest.approx(math.exp(-0.1),
                                                                          abs=1e-6)
    with pytest.raises(ValueError, match='at least one'):
        HiLAMemoryBuffer(use_appearance=False, use_location=False)


@pytest.mark.parametrize('delta, matched', [(-1e-4, True), (1e-4, False)])
def test_threshold_alpha(delta, matched):
    """The same hand-made pair as above, alpha just below / above its similarity."""
    similarity = math.exp(-0.1) * 8 / 9
    memory = HiLAMemoryBuffer(location_temperature=0.5, match_threshold=similarity + delta)
    step(memory, 0, [0], [[2, 1, 2]], [[0.2, 0.2, 0.3, 0.6]])
    # one frame later with zero velocity the predicted box is the stored one
    ids = step(memory, 1, [0], [[1, 2, 2]], [[0.1, 0.2, 0.3, 0.4]])
    assert ids == ([1] if matched else [2])


def test_momentum_update_weights_the_current_feature():
    memory = HiLAMemoryBuffer()
    step(memory, 0, [0], [[1., 0.]], [box(0.1)])
    # cos([1, 0], [0.8, 0.6]) = 0.8 > 0.7 at the same box: matched
    assert step(memory, 1, [0], [[0.8, 0.6]], [box(0.1)]) == [1]
    # q <- 0.2 * [1, 0] + 0.8 * [0.8, 0.6]
    torch.testing.assert_close(memory.embeds, torch.tensor([[0.84, 0.48]]))
    # an absent entry keeps its appearance (Eq. 3, third case)
    step(memory, 2, [1], [[0., 1.]], [box(0.6)])
    torch.testing.assert_close(memory.embeds[0], torch.tensor([0.84, 0.48]))
    # a stitched object also updates its entry with the momentum, whatever its appearance
    assert step(memory, 3, [0], [[0., 1.]], [box(0.1)], assigned={0: 1}) == [1]
    torch.testing.assert_close(memory.embeds[0], torch.tensor([0.168, 0.096 + 0.8]))


def test_constant_velocity_over_three_absent_frames():
    # location only, T = 0.05: a 0.05 shift (S = exp(-0.005 / 0.05) = 0.90) matches
    memory = HiLAMemoryBuffer(use_appearance=False, location_temperature=0.05)
    step(memory, 0, [0], [[1.]], [box(0.10)])
    assert step(memory, 1, [0], [[1.]], [box(0.15)]) == [1]  # velocity 0.05 per frame
    for frame_id in (2, 3, 4):  # absent: the box moves on every frame
        step(memory, frame_id, [1], [[1.]], [box(0.9, y=0.9)])
        expected = torch.tensor(box(0.15 + 0.05 * (frame_id - 1)))
        torch.testing.assert_close(memory.boxes[0, 1], expected)
        torch.testing.assert_close(memory.boxes[0, 0], expected - torch.tensor([0.05, 0, 0.05,
                                                                                0]))
    torch.testing.assert_close(memory.predicted_boxes(5)[0], torch.tensor(box(0.35)))
    # it reappears where constant velocity puts it: matched (S = 1), ...
    assert step(memory, 5, [0], [[1.]], [box(0.35)]) == [1]
    # ... while at its last seen box it would not be (exp(-2 * 0.2^2 / 0.05) = 0.20)
    other = HiLAMemoryBuffer(use_appearance=False, location_temperature=0.05)
    step(other, 0, [0], [[1.]], [box(0.10)])
    step(other, 1, [0], [[1.]], [box(0.15)])
    assert step(other, 5, [0], [[1.]], [box(0.15)]) == [2]


def test_frame_gap_equals_absent_frames():
    """Jumping from frame 1 to frame 5 predicts the same box as three absent frames."""
    memory = HiLAMemoryBuffer(use_appearance=False)
    step(memory, 0, [0], [[1.]], [box(0.10)])
    step(memory, 1, [0], [[1.]], [box(0.15)])
    torch.testing.assert_close(memory.predicted_boxes(5)[0], torch.tensor(box(0.35)))
    step(memory, 5, [1], [[1.]], [box(0.9, y=0.9)])
    torch.testing.assert_close(memory.boxes[0], torch.tensor([box(0.30), box(0.35)]))


def test_hungarian_maximises_total_similarity():
    """Location only, T = 0.5: greedy would pair o1 with m1 (0.961) and leave o2 (0.578 with
    m2) unmatched; Hungarian takes o1-m2 (0.914) + o2-m1 (0.944)."""
    memory = HiLAMemoryBuffer(use_appearance=False, location_temperature=0.5)
    assert step(memory, 0, [0, 0], [[1.], [1.]], [box(0.0), box(0.25)]) == [1, 2]
    assert step(memory, 1, [0, 0], [[1.], [1.]], [box(0.1), box(-0.12)]) == [2, 1]


def test_class_aware_matching():
    for class_aware, expected in ((True, [2]), (False, [1])):
        memory = HiLAMemoryBuffer(class_aware=class_aware)
        step(memory, 0, [0], [[1., 0.]], [box(0.1)])
        assert step(memory, 1, [1], [[1., 0.]], [box(0.1)]) == expected
    # class-aware: each object matches the entry of its own class even if another is closer
    memory = HiLAMemoryBuffer(use_appearance=False)
    step(memory, 0, [0, 1], [[1.], [1.]], [box(0.1), box(0.12)])
    assert step(memory, 1, [1, 0], [[1.], [1.]], [box(0.1), box(0.12)]) == [2, 1]


def test_stitched_entries_are_not_matched_again():
    memory = HiLAMemoryBuffer()
    step(memory, 0, [0, 0], [[1., 0.], [0., 1.]], [box(0.1), box(0.6)])
    # object 1 looks exactly like entry 1, but stitching gave id 1 to object 0
    ids = step(memory, 1, [0, 0], [[0., 1.], [1., 0.]], [box(0.6), box(0.1)], assigned={0: 1})
    assert ids == [1, 3]
    # a stitched id the memory does not hold starts an entry; new ids stay above it
    ids = step(memory, 2, [0, 0], [[1., 1.], [-1., 0.]], [box(0.3), box(0.8)], assigned={0: 9})
    assert ids == [9, 10]
    assert 9 in memory.ids.tolist()
    with pytest.raises(ValueError, match='distinct'):
        step(memory, 3, [0, 0], [[1., 0.], [0., 1.]], [box(0.1), box(0.6)],
             assigned={0: 9, 1: 9})


@pytest.mark.parametrize('absent, reidentified', [(2, True), (3, False)])
def test_refresh_after_tau(absent, reidentified):
    """tau = 2: an entry last seen at frame 0 is matched at frame 2 (2 - 0 = tau) and gone at
    frame 3 (3 - 0 > tau)."""
    memory = HiLAMemoryBuffer(refresh_frames=2)
    step(memory, 0, [0], [[1., 0.]], [box(0.1)])
    for frame_id in range(1, absent):
        empty_step(memory, frame_id)
    ids = step(memory, absent, [0], [[1., 0.]], [box(0.1)])
    assert ids == ([1] if reidentified else [2])


def test_naive_memory_buffer_preset():
    """Appearance only with tau = 1: a one-frame gap already loses the track."""
    memory = HiLAMemoryBuffer(use_location=False, refresh_frames=1)
    step(memory, 0, [0], [[1., 0.]], [box(0.1)])
    assert step(memory, 1, [0], [[1., 0.1]], [box(0.9)]) == [1]  # location is ignored
    empty_step(memory, 2)
    assert step(memory, 3, [0], [[1., 0.]], [box(0.1)]) == [2]


def test_memory_is_bounded():
    torch.manual_seed(0)
    memory = HiLAMemoryBuffer(refresh_frames=3)
    sizes = []
    for frame_id in range(60):  # five new objects a frame, orthogonal to all: nothing matches
        embeds = torch.eye(300)[5 * frame_id:5 * frame_id + 5]
        memory.update(frame_id, torch.zeros(5, dtype=torch.long), embeds, torch.rand(5, 4))
        sizes.append(memory.num_entries)
    assert max(sizes) == 5 * 4  # the objects of frames t - 3 .. t
    assert memory.last_matching_space == (15, 5)


def test_bad_inputs():
    memory = HiLAMemoryBuffer()
    step(memory, 3, [0], [[1., 0.]], [box(0.1)])
    with pytest.raises(ValueError, match='does not follow'):
        step(memory, 3, [0], [[1., 0.]], [box(0.1)])
    with pytest.raises(ValueError, match=r'boxes \[S, 4\]'):
        step(memory, 4, [0], [[1., 0.]], [[0.1, 0.2]])
    with pytest.raises(ValueError, match='3-d embeddings'):
        step(memory, 4, [0], [[1., 0., 0.]], [box(0.1)])
    with pytest.raises(ValueError, match='refresh_frames'):
        HiLAMemoryBuffer(refresh_frames=0)

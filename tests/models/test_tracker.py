"""QuasiDenseKernelTracker on hand-made embeddings: crossings, new objects, re-identification
within the memory, class constraint, bounded memory."""
import pytest
import torch

from mmvps.models.trackers import QuasiDenseKernelTracker

DIM = 16


def embed(i, noise=0.0, seed=0):
    """A sharp, distinct embedding per object (scaled one-hot), optionally perturbed."""
    e = torch.zeros(DIM)
    e[i] = 10.0
    if noise:
        e += noise * torch.randn(DIM, generator=torch.Generator().manual_seed(seed))
    return e


def track(tracker, frame_id, objects):
    """``objects``: list of (object index, label, score); returns the track ids in that order."""
    embeds = torch.stack([embed(i, 0.1, seed=frame_id * 100 + i) for i, _, _ in objects]) \
        if objects else torch.zeros(0, DIM)
    labels = torch.tensor([label for _, label, _ in objects], dtype=torch.long)
    scores = torch.tensor([score for _, _, score in objects], dtype=torch.float)
    return tracker.track(embeds, labels, scores, frame_id).tolist()


def make_tracker(**kwargs):
    cfg = dict(init_score_thr=0.5, obj_score_thr=0.3, match_score_thr=0.5, num_frames_retain=3,
               memo_momentum=0.8)
    cfg.update(kwargs)
    return QuasiDenseKernelTracker(**cfg)


def test_ids_follow_embeddings_through_a_crossing():
    tracker = make_tracker()
    assert track(tracker, 0, [(0, 0, 0.9), (1, 0, 0.8), (2, 1, 0.7)]) == [1, 2, 3]
    # the two objects of class 0 cross: their order and scores swap, ids stay with them
    for frame_id in range(1, 6):
        swapped = frame_id >= 3
        objects = [(1, 0, 0.95), (0, 0, 0.6)] if swapped else [(0, 0, 0.9), (1, 0, 0.8)]
        ids = track(tracker, frame_id, objects + [(2, 1, 0.7)])
        assert ids == ([2, 1, 3] if swapped else [1, 2, 3])


def test_new_object_gets_a_new_id_and_low_scores_start_none():
    tracker = make_tracker()
    track(tracker, 0, [(0, 0, 0.9), (1, 0, 0.8)])
    assert track(tracker, 1, [(0, 0, 0.9), (1, 0, 0.8), (5, 0, 0.9)]) == [1, 2, 3]
    # a new object scoring below init_score_thr is left untracked (id 0), kept as a backdrop
    assert track(tracker, 2, [(0, 0, 0.9), (1, 0, 0.8), (5, 0, 0.9), (6, 0, 0.4)]) == [1, 2, 3, 0]
    assert tracker.backdrops[0]['labels'].tolist() == [0]
    assert tracker.num_tracks == 3


def test_reidentification_within_the_memory_only():
    tracker = make_tracker(num_frames_retain=3)
    track(tracker, 0, [(0, 0, 0.9), (1, 0, 0.9), (2, 0, 0.9)])
    # object 1 is missing in frames 1 and 2 and comes back in frame 3: 3 - 0 = 3 frames unseen
    # is the retention limit, so it is forgotten at frame 3 ... but at frame 2 it is still known
    track(tracker, 1, [(0, 0, 0.9), (2, 0, 0.9)])
    assert track(tracker, 2, [(0, 0, 0.9), (1, 0, 0.9), (2, 0, 0.9)]) == [1, 2, 3]
    # now object 2 leaves for 3 frames: dropped from memory, it returns with a new id
    for frame_id in (3, 4, 5):
        assert track(tracker, frame_id, [(0, 0, 0.9), (1, 0, 0.9)]) == [1, 2]
    assert 2 not in tracker.tracks  # internal ids are 0-based, outputs 1-based
    assert track(tracker, 6, [(0, 0, 0.9), (1, 0, 0.9), (2, 0, 0.9)]) == [1, 2, 4]


def test_same_embedding_other_class_is_not_matched():
    tracker = make_tracker()
    track(tracker, 0, [(0, 0, 0.9), (1, 1, 0.9)])
    assert track(tracker, 1, [(0, 1, 0.9), (1, 1, 0.9)]) == [3, 2]
    tracker = make_tracker(with_cats=False)
    track(tracker, 0, [(0, 0, 0.9), (1, 1, 0.9)])
    assert track(tracker, 1, [(0, 1, 0.9), (1, 1, 0.9)]) == [1, 2]


def test_momentum_update_of_the_tracklet_embedding():
    tracker = make_tracker(memo_momentum=0.8)
    first = torch.stack([embed(0), embed(1)])
    tracker.track(first, torch.tensor([0, 0]), torch.tensor([0.9, 0.9]), 0)
    second = torch.stack([embed(0) + 1.0, embed(1)])
    tracker.track(second, torch.tensor([0, 0]), torch.tensor([0.9, 0.9]), 1)
    expected = 0.2 * embed(0) + 0.8 * (embed(0) + 1.0)
    assert torch.allclose(tracker.tracks[0]['embed'], expected)


def test_memory_is_bounded_on_a_long_video():
    tracker = make_tracker(num_frames_retain=4, memo_backdrop_frames=1)
    generator = torch.Generator().manual_seed(0)
    sizes = []
    for frame_id in range(200):
        # three objects with random embeddings every frame plus one low-score segment
        embeds = 10 * torch.randn(4, DIM, generator=generator)
        ids = tracker.track(embeds, torch.zeros(4, dtype=torch.long),
                            torch.tensor([0.9, 0.9, 0.9, 0.1]), frame_id)
        assert (ids[:3] > 0).all() and ids[3] == 0
        sizes.append(tracker.memory_size)
    assert max(sizes) <= 4 * 3 + 1
    assert len(tracker.tracks) <= 4 * 3 and len(tracker.backdrops) == 1


def test_empty_frames_and_reset():
    tracker = make_tracker()
    assert track(tracker, 0, []) == []
    assert track(tracker, 1, [(0, 0, 0.9)]) == [1]
    assert track(tracker, 2, []) == []
    # empty frames age the memory too: unseen for num_frames_retain frames -> forgotten
    for frame_id in range(3, 5):
        assert track(tracker, frame_id, []) == []
    assert tracker.memory_size == 0
    tracker.reset()
    assert tracker.memory_size == 0
    assert track(tracker, 0, [(3, 0, 0.9)]) == [1]


def test_bad_arguments():
    with pytest.raises(ValueError, match='num_frames_retain'):
        QuasiDenseKernelTracker(memo_tracklet_frames=3)
    with pytest.raises(ValueError, match='num_frames_retain'):
        QuasiDenseKernelTracker(num_frames_retain=0)
    with pytest.raises(ValueError, match='differ in number'):
        make_tracker().track(torch.zeros(2, DIM), torch.zeros(3, dtype=torch.long),
                             torch.zeros(2), 0)

"""K-Net panoptic inference: pasting thing and stuff masks into one map."""
import pytest
import torch

from mmvps.models.heads import KernelIterHead
from mmvps.utils import register_all_modules

VOID = 4  # 2 thing + 2 stuff classes


@pytest.fixture(scope='module', autouse=True)
def _register():
    register_all_modules()


def make_head(num_proposals=3, num_things=2, num_stuff=2, **test_cfg):
    cfg = dict(instance_score_thr=0.3, stuff_score_thr=0.05, overlap_thr=0.6, stuff_min_area=4,
               mask_thr=0.5, max_per_img=100)
    cfg.update(test_cfg)
    return KernelIterHead(
        num_stages=1,
        stage_loss_weights=(1, ),
        num_proposals=num_proposals,
        num_thing_classes=num_things,
        num_stuff_classes=num_stuff,
        mask_head=dict(type='KernelUpdateHead', num_classes=num_things + num_stuff,
                       in_channels=8, num_heads=2, feedforward_channels=16,
                       kernel_updator_cfg=dict(type='KernelUpdator', in_channels=8,
                                               feat_channels=8)),
        test_cfg=cfg)


def meta(size=(8, 8)):
    return dict(batch_input_shape=size, img_shape=size, ori_shape=size)


def logits(*boxes, size=(8, 8)):
    """Mask logits +10 inside the (row0, row1, col0, col1) boxes (ends exclusive), -10 outside."""
    out = torch.full(size, -10.)
    for r0, r1, c0, c1 in boxes:
        out[r0:r1, c0:c1] = 10.
    return out


def scene(stuff_2_score=0.6, stuff_2_cols=4):
    """Thing kernels 0 (class 0, 0.9), 1 (class 1, 0.8, half under kernel 0), 2 (class 0, 0.7,
    inside kernel 0); stuff kernel 3 (class 2) on the right, stuff kernel 4 (class 3) on row 7;
    nothing confident on row 6, left."""
    scores = torch.zeros(5, 4)
    scores[0, :2] = torch.tensor([0.9, 0.1])
    scores[1, :2] = torch.tensor([0.2, 0.8])
    scores[2, 0] = 0.7
    scores[3, 2] = stuff_2_score
    scores[4, 3] = 0.5
    masks = torch.stack([
        logits((0, 4, 0, 4)),
        logits((2, 6, 0, 4)),
        logits((0, 3, 0, 3)),
        logits((0, 8, stuff_2_cols, 8)),
        logits((7, 8, 0, 8)),
    ])
    return scores, masks


def expected_scene_map():
    pan = torch.full((8, 8), VOID, dtype=torch.long)
    pan[0:4, 0:4] = 0 + 1 * 1000
    pan[4:6, 0:4] = 1 + 2 * 1000
    pan[:, 4:8] = 2
    pan[7, 0:4] = 3
    return pan


@pytest.mark.parametrize('merge_mode', ['thing_first', 'joint'])
def test_paste_hand_example(merge_mode):
    head = make_head(merge_mode=merge_mode)
    pan, things = head.panoptic_postprocess(*scene(), meta())
    torch.testing.assert_close(pan, expected_scene_map())
    assert things.kernel_inds.tolist() == [0, 1]  # kernel 2 lies under kernel 0: dropped
    assert things.labels.tolist() == [0, 1]
    assert things.instance_ids.tolist() == [1, 2]
    torch.testing.assert_close(things.scores, torch.tensor([0.9, 0.8]))


@pytest.mark.parametrize('test_cfg, changed_to_void', [
    (dict(instance_score_thr=0.85), [(slice(4, 6), slice(0, 4))]),  # thing 1 below threshold
    (dict(max_per_img=1), [(slice(4, 6), slice(0, 4))]),
    (dict(overlap_thr=0.4), [(slice(4, 6), slice(0, 4))]),  # thing 1 loses 50% > 40%
    (dict(stuff_min_area=5), [(7, slice(0, 4))]),  # stuff 3 keeps only 4 free pixels
    (dict(stuff_score_thr=0.55), [(7, slice(0, 4))]),
    (dict(mask_thr=0.99999), [(slice(None), slice(None))]),  # nothing confident
])
def test_paste_thresholds(test_cfg, changed_to_void):
    pan, _ = make_head(**test_cfg).panoptic_postprocess(*scene(), meta())
    expected = expected_scene_map()
    for index in changed_to_void:
        expected[index] = VOID
    torch.testing.assert_close(pan, expected)


def test_joint_merge_lets_confident_stuff_beat_things():
    scores, masks = scene(stuff_2_score=0.95, stuff_2_cols=2)
    first, _ = make_head(merge_mode='thing_first').panoptic_postprocess(scores, masks, meta())
    assert (first[0:4, 0:4] == 1000).all()  # things are pasted before any stuff
    pan, things = make_head(merge_mode='joint').panoptic_postprocess(scores, masks, meta())
    expected = torch.full((8, 8), VOID, dtype=torch.long)
    expected[:, 2:] = 2  # stuff (0.95) wins over every thing (<= 0.9)
    expected[0:4, 0:2] = 1000  # thing 0 keeps half its mask
    # thing 1 keeps 4 of 16 pixels (drops), stuff 3 keeps 2 < stuff_min_area pixels (drops)
    torch.testing.assert_close(pan, expected)
    assert things.kernel_inds.tolist() == [0] and things.instance_ids.tolist() == [1]


def test_paste_rescales_to_the_original_image():
    head = make_head(num_proposals=1, num_things=1, num_stuff=1)
    scores = torch.tensor([[0.9, 0.], [0., 0.9]])
    masks = torch.stack([logits((0, 4, 0, 3), size=(4, 6)), logits((0, 4, 3, 6), size=(4, 6))])
    # padded input 16x24 (features 4x6), image 12x20 inside it, original image 24x40
    img_meta = dict(batch_input_shape=(16, 24), img_shape=(12, 20), ori_shape=(24, 40))
    pan, _ = head.panoptic_postprocess(scores, masks, img_meta)
    assert pan.shape == (24, 40)
    # the left half of the padded input (12 of 24 columns) is 12 of the image's 20 columns
    assert (pan[:, :22] == 1000).all() and (pan[:, 26:] == 1).all()
    pan, _ = head.panoptic_postprocess(scores, masks, img_meta, rescale=False)
    assert pan.shape == (12, 20)


@pytest.mark.parametrize('merge_mode', ['thing_first', 'joint'])
@pytest.mark.parametrize('seed', range(4))
def test_paste_invariants_on_random_predictions(merge_mode, seed):
    torch.manual_seed(seed)
    num_proposals, num_things, num_stuff = 6, 2, 3
    num_classes = num_things + num_stuff
    head = make_head(num_proposals, num_things, num_stuff, merge_mode=merge_mode,
                     stuff_min_area=0, stuff_score_thr=0.0)
    scores = torch.rand(num_proposals + num_stuff, num_classes)
    mask_preds = torch.randn(num_proposals + num_stuff, 16, 16) * 3
    pan, things = head.panoptic_postprocess(scores, mask_preds, meta((16, 16)))
    confident = mask_preds.sigmoid() > 0.5
    sem, inst = pan % 1000, pan // 1000

    # thing segments are numbered 1..T in paste order and each one is in the map
    assert things.instance_ids.tolist() == list(range(1, len(things) + 1))
    assert len(set(things.kernel_inds.tolist())) == len(things)
    assert (things.scores >= 0.3).all()
    assert (inst[sem >= num_things] == 0).all()
    assert set(inst[sem < num_things].unique().tolist()) == set(things.instance_ids.tolist())
    # every segment lies inside its own kernel's confident mask
    for kernel, label, instance_id in zip(things.kernel_inds, things.labels, things.instance_ids):
        segment = pan == label + 1000 * instance_id
        assert segment.any() and not (segment & ~confident[kernel]).any()
        assert label == scores[kernel, :num_things].argmax()
    for stuff in range(num_stuff):
        segment = sem == num_things + stuff
        assert not (segment & ~confident[num_proposals + stuff]).any()
    # void wherever nothing is confident
    void = sem == num_classes
    assert void[~confident.any(0)].all()
    if merge_mode == 'thing_first':
        # kept things are pasted whole where no earlier thing was: they cover their union ...
        kept_things = confident[things.kernel_inds].any(0) if len(things) else torch.zeros_like(
            void)
        assert torch.equal(sem < num_things, kept_things)
        # ... and stuff fills every other pixel where a stuff mask is confident
        assert torch.equal(void, ~kept_things & ~confident[num_proposals:].any(0))
    else:
        # joint: a pixel goes to the candidate with the highest score * sigmoid, or stays void
        thing_scores = scores[:num_proposals, :num_things].max(1).values
        candidates = torch.cat([
            torch.nonzero(thing_scores >= 0.3).squeeze(1),
            torch.arange(num_proposals, num_proposals + num_stuff)
        ])
        candidate_scores = torch.cat([thing_scores, scores[num_proposals:, num_things:].diag()])
        weighted = candidate_scores[candidates, None, None] * mask_preds[candidates].sigmoid()
        winner = candidates[weighted.argmax(0)]
        owner = torch.full_like(pan, -1)
        for kernel, label, instance_id in zip(things.kernel_inds, things.labels,
                                              things.instance_ids):
            owner[pan == label + 1000 * instance_id] = kernel
        for stuff in range(num_stuff):
            owner[sem == num_things + stuff] = num_proposals + stuff
        assert torch.equal(owner[~void], winner[~void])


@pytest.mark.parametrize('merge', ['_merge_thing_first', '_merge_joint'])
def test_merged_segments_are_disjoint(merge):
    torch.manual_seed(0)
    probs = torch.rand(7, 12, 12)
    scores = torch.rand(7).sort(descending=True).values
    cfg = dict(mask_thr=0.3, overlap_thr=0.9, stuff_min_area=0)
    args = (probs, 4, cfg) if merge == '_merge_thing_first' else (probs, scores, 4, cfg)
    segments = getattr(KernelIterHead, merge)(*args)
    assert len(segments) > 2
    coverage = torch.stack([mask for _, mask in segments]).sum(0)
    assert coverage.max() == 1  # no pixel in two segments


def test_unknown_merge_mode():
    head = make_head(merge_mode='stuff_first')
    with pytest.raises(ValueError, match="unknown merge_mode 'stuff_first'"):
        head.panoptic_postprocess(*scene(), meta())

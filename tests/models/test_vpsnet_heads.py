"""VPSNet's panoptic head, semantic head and track head on hand-made inputs (spec vpsnet.md §8)."""
import pytest
import torch
from mmdet.models.task_modules import SamplingResult
from mmengine.structures import InstanceData

from mmvps.models.vpsnet import PanopticLogitsHead, UPSNetSemanticHead, VPSNetTrackHead

# 2 things (labels 0, 1), 2 stuff (labels 2, 3)
NUM_THINGS, NUM_STUFF = 2, 2


def head(**kwargs):
    return PanopticLogitsHead(num_things=NUM_THINGS, num_stuff=NUM_STUFF, **kwargs)


def one_hot_logits(sem, num_classes=NUM_THINGS + NUM_STUFF, value=10.):
    """Near-one-hot logits: +value on the class of each pixel, -value elsewhere."""
    logits = torch.full((num_classes, ) + tuple(sem.shape), -value)
    logits.scatter_(0, sem[None].clamp(max=num_classes - 1), value)
    return logits


def two_instance_scene():
    """32 x 32: stuff 2 on the left half, stuff 3 on the right; thing 0 on rows/cols 4..15,
    thing 1 on rows/cols 20..27 (masks fill their boxes)."""
    sem = torch.full((32, 32), 2, dtype=torch.long)
    sem[:, 16:] = 3
    masks = torch.zeros(2, 32, 32, dtype=torch.bool)
    masks[0, 4:16, 4:16] = True
    masks[1, 20:28, 20:28] = True
    sem[masks[0]] = 0
    sem[masks[1]] = 1
    boxes = torch.tensor([[4., 4., 16., 16.], [20., 20., 28., 28.]])
    return sem, masks, boxes, torch.tensor([0, 1])


def test_train_logits_argmax_gives_back_the_target():
    sem, masks, boxes, labels = two_instance_scene()
    panoptic = head()
    target = panoptic.train_target(sem, masks)
    # hand-computed target at stride 4: stuff 2 / 3 -> channels 0 / 1, instances -> 2 / 3
    expected = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1]] * 8)
    expected[1:4, 1:4] = 2
    expected[5:7, 5:7] = 3
    assert torch.equal(target, expected)

    fcn_score = one_hot_logits(sem[::4, ::4])
    mask_logits = torch.full((2, 28, 28), 10.)
    logits = panoptic.train_logits(fcn_score, mask_logits, boxes, labels)
    assert logits.shape == (NUM_STUFF + 2, 8, 8)
    # inside instance 0: its class logit 10 + its mask logit 10; instance 1's channel is 0 there
    assert logits[2, 2, 2] == 20 and logits[3, 2, 2] == 0
    # the box of instance 0 at stride 4 spans 1..4 (x2 inclusive): class -10 + mask 10 at (4, 4)
    assert logits[2, 4, 4] == 0 and logits[2, 5, 5] == 0
    assert torch.equal(logits.argmax(0), target)
    loss = panoptic.loss(logits, target)
    assert 0 <= loss < 1e-3 and panoptic.loss_weight == 0.5


def test_train_target_marks_uncovered_things_and_void_as_ignore():
    sem, masks, _, _ = two_instance_scene()
    sem[0:4, 0:4] = 255
    target = head().train_target(sem, masks[:1])  # thing 1 has no mask: ignored
    assert target[0, 0] == 255
    assert (target[5:7, 5:7] == 255).all()
    assert (target[1:4, 1:4] == 2).all()


def test_mask_removal_drops_same_class_overlaps_and_empty_masks():
    panoptic = head()
    boxes = torch.tensor([[0., 0., 10., 10.], [2., 2., 12., 12.], [0., 0., 10., 10.],
                          [20., 20., 25., 25.], [14., 0., 20., 6.]])
    labels = torch.tensor([0, 0, 1, 0, 0])
    logits = torch.full((5, 28, 28), 5.)
    logits[3] = -5.  # an empty mask
    keep = panoptic.mask_removal(logits, boxes, labels, 32, 32)
    # 1 lies 81/121 on 0 (same class, > 0.3): dropped; 2 is another class: kept; 3 is empty;
    # 4 does not touch 0 (cols 14..20): kept
    assert keep.tolist() == [0, 2, 4]
    # at an overlap of exactly 30 % or less the later instance stays
    boxes = torch.tensor([[0., 0., 9., 9.], [7., 0., 16., 9.]])  # 3 of 10 columns shared
    keep = panoptic.mask_removal(torch.full((2, 28, 28), 5.), boxes, torch.tensor([1, 1]), 32,
                                 32)
    assert keep.tolist() == [0, 1]


def test_predict_assigns_things_and_stuff():
    sem, masks, boxes, labels = two_instance_scene()
    panoptic = head(stuff_area_limit=1)
    out_sem, inst = panoptic.predict(one_hot_logits(sem), torch.full((2, 28, 28), 10.), boxes,
                                     labels)
    assert torch.equal(out_sem, sem)
    expected = torch.zeros(32, 32, dtype=torch.long)
    expected[masks[0]] = 1
    expected[masks[1]] = 2
    assert torch.equal(inst, expected)


def test_predict_zero_outside_boxes_wins_over_negative_stuff():
    """An instance channel is 0 outside its box, so it takes pixels where every stuff logit is
    negative (argmax over the stacked logits, as in the released code)."""
    logits = torch.full((4, 8, 8), -1.)
    logits[2] = 1.
    logits[2, :, 6:] = -3.  # columns 6, 7: all stuff logits negative
    out_sem, inst = head(stuff_area_limit=1).predict(
        logits, torch.full((1, 28, 28), 5.), torch.tensor([[0., 0., 2., 2.]]),
        torch.tensor([1]))
    assert (inst[:, 6:] == 1).all() and (out_sem[:, 6:] == 1).all()
    assert (inst[:3, :3] == 1).all() and (inst[4:, :6] == 0).all()


def test_post_process_stuff_majority_and_area_limit():
    panoptic = head(stuff_area_limit=5)
    sem_argmax = torch.full((10, 10), 2, dtype=torch.long)
    sem_argmax[0:2, 0:5] = 0  # instance 1 (class 0) region: its own class -> thing
    sem_argmax[5:7, 0:4] = 1  # instance 2 (class 0): majority other thing (6/8) -> keep thing
    sem_argmax[8:10, 0:2] = 3  # instance 3 (class 1): 3 of 4 pixels stuff 3 -> relabel to 3
    sem_argmax[9, 1] = 1
    stuff = torch.full((10, 10), 2, dtype=torch.long)
    stuff[:, 8:] = 3
    stuff[0, 8] = 2  # odd pixel, irrelevant
    inst = torch.zeros(10, 10, dtype=torch.long)
    inst[0:2, 0:5] = 1
    inst[5:7, 0:4] = 2
    inst[8:10, 0:2] = 3
    labels = torch.tensor([0, 0, 1])
    out_sem, out_inst = panoptic.post_process(sem_argmax, stuff, inst, labels)
    assert (out_sem[0:2, 0:5] == 0).all() and (out_inst[0:2, 0:5] == 1).all()
    assert (out_sem[5:7, 0:4] == 0).all() and (out_inst[5:7, 0:4] == 2).all()
    assert (out_inst[8:10, 0:2] == 0).all()
    # stuff 3: 19 pixels of the right columns + 4 relabelled = 23 >= 5 -> kept
    assert (out_sem[8:10, 0:2] == 3).all()
    # a 4-pixel stuff segment is below the limit: void (= num_classes)
    stuff_small = torch.full((10, 10), 2, dtype=torch.long)
    stuff_small[0:2, 0:2] = 3
    out_sem, _ = panoptic.post_process(torch.full((10, 10), 2, dtype=torch.long), stuff_small,
                                       torch.zeros(10, 10, dtype=torch.long), labels)
    assert (out_sem[0:2, 0:2] == NUM_THINGS + NUM_STUFF).all()
    assert (out_sem == 2).sum() == 96


def test_bad_panoptic_inputs_are_named():
    with pytest.raises(ValueError, match='thing labels'):
        head().train_logits(torch.zeros(4, 8, 8), torch.zeros(1, 28, 28),
                            torch.zeros(1, 4), torch.tensor([2]))
    with pytest.raises(ValueError, match=r'\[4, H, W\]'):
        head().predict(torch.zeros(3, 8, 8), torch.zeros(0, 28, 28), torch.zeros(0, 4),
                       torch.zeros(0, dtype=torch.long))


@pytest.mark.parametrize('dcn_backend', ['mmcv', 'none'])
def test_semantic_head_shapes_and_shared_weights(dcn_backend):
    sem_head = UPSNetSemanticHead(num_classes=5, in_channels=16, channels=(16, 8, 8),
                                  norm_cfg=dict(type='GN', num_groups=4),
                                  dcn_backend=dcn_backend)
    sem_head.init_weights()
    feats = [torch.randn(2, 16, 32 // 2**i, 48 // 2**i) for i in range(5)]
    fcn_score, fcn_output = sem_head(feats)
    assert fcn_score.shape == (2, 5, 32, 48) and fcn_output.shape == (2, 5, 128, 192)
    # one subnet for all levels: 3 blocks, a 1x1 conv over 4 levels x 8 channels
    assert len(sem_head.subnet) == 3 and sem_head.conv_logits.in_channels == 32
    if dcn_backend == 'mmcv':  # zero offsets: the deformable conv equals a plain conv
        block = sem_head.subnet[0]
        assert block.offset.weight.abs().sum() == 0
        plain = torch.nn.functional.conv2d(feats[0], block.conv.weight, padding=1)
        assert torch.allclose(block.conv(feats[0], block.offset(feats[0])), plain, atol=1e-5)
    gt = torch.randint(0, 5, (2, 128, 192))
    gt[0, :10] = 255
    loss = sem_head.loss(fcn_output, gt)
    assert torch.isfinite(loss) and loss > 0
    assert sem_head.loss(fcn_output, torch.full_like(gt, 255)) == 0


def test_track_head_loss_divides_by_positives_and_has_no_last_relu():
    track = VPSNetTrackHead(num_fcs=2, in_channels=2, roi_feat_size=1, fc_out_channels=4,
                            loss_match=dict(type='CrossEntropyLoss', loss_weight=0.5))
    x = torch.randn(3, 2, 1, 1)
    emb = track.embed(x)
    assert (emb < 0).any()  # no ReLU after the last FC
    # 3 sampled RoIs: 2 positives (GT 0 -> reference index 1, GT 1 absent -> target 0), 1 neg
    priors = torch.tensor([[0., 0., 5., 5.]] * 3)
    gt = InstanceData(bboxes=torch.tensor([[0., 0., 5., 5.], [1., 1., 6., 6.]]),
                      labels=torch.tensor([0, 0]))
    from mmdet.models.task_modules import AssignResult
    assign = AssignResult(2, torch.tensor([1, 2, 0]), torch.ones(3), torch.tensor([0, 0, -1]))
    res = SamplingResult(torch.tensor([0, 1]), torch.tensor([2]), priors, gt.bboxes, assign,
                         torch.zeros(3, dtype=torch.uint8))
    ref_x = torch.randn(2, 2, 1, 1)
    losses = track.loss(x, ref_x, [3], [2], [res], [torch.tensor([7, 9])],
                        [torch.tensor([5, 7])])
    key = track.embed(x)[:2]
    ref = track.embed(ref_x)
    logits = torch.cat([torch.zeros(2, 1), key @ ref.T], dim=1)
    targets = torch.tensor([2, 0])  # id 7 is reference GT 1 -> column 2; id 9 is new
    expected = torch.nn.functional.cross_entropy(logits, targets, reduction='sum') / 2 * 0.5
    assert torch.allclose(losses['loss_match'], expected, atol=1e-6)
    assert 'match_accuracy' in losses

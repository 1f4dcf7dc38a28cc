"""PanopticFCN targets (spec clip_panofcn.md 3.1-3.3) against hand-computed numbers."""
import math

import pytest
import torch

from mmvps.models.heads.panoptic_fcn import (PanopticFCNTargetGenerator, cornernet_radius,
                                             draw_gaussian)


def test_cornernet_radius_is_the_reference_variant():
    # w=20, h=10, overlap 0.7: r3 = (b3 + sqrt(b3^2 - 4 a3 c3)) / 2 with a3 = 2.8, b3 = -42,
    # c3 = -60: (-42 + sqrt(2436)) / 2 = 3.6780; r1 = 28.77, r2 = 55.69 are larger
    radius = cornernet_radius(torch.tensor(20.), torch.tensor(10.), 0.7)
    assert radius.item() == pytest.approx((-42 + math.sqrt(2436)) / 2, rel=1e-6)
    assert radius.item() == pytest.approx(3.6780, abs=1e-4)
    # mmdet's corrected formula divides by 2 a3 (= 1.31 here): ours must not
    assert radius.item() > 3


def test_draw_gaussian_sigma_is_diameter_over_three():
    heatmap = torch.zeros(9, 9)
    draw_gaussian(heatmap, x=4, y=3, radius=3, sigma_factor=3)
    sigma = 7 / 3
    assert heatmap[3, 4] == 1
    assert heatmap[3, 5].item() == pytest.approx(math.exp(-1 / (2 * sigma**2)), rel=1e-6)
    assert heatmap[5, 6].item() == pytest.approx(math.exp(-8 / (2 * sigma**2)), rel=1e-6)
    assert heatmap[3, 8] == 0 and heatmap[7, 4] == 0  # radius 3: nothing 4 px away
    # drawing is a max: a smaller Gaussian on top changes nothing below its values
    before = heatmap.clone()
    draw_gaussian(heatmap, x=4, y=3, radius=1, sigma_factor=3)
    assert torch.equal(heatmap, before)
    # cut at the border
    edge = torch.zeros(4, 4)
    draw_gaussian(edge, x=0, y=0, radius=2, sigma_factor=3)
    assert edge[0, 0] == 1 and edge[0, 2] > 0 and edge[3, 3] == 0


def _clip():
    """3 instances, 2 frames, 256 x 256: A (box 151 x 99, scale 122) -> level 1 only;
    B (box 11 x 11) -> level 0 only, absent in frame 0; C (box 55 x 55) -> both levels."""
    masks = torch.zeros(3, 2, 256, 256, dtype=torch.bool)
    masks[0, :, 32:132, 48:200] = True
    masks[1, 1, 200:212, 20:32] = True
    masks[2, :, 100:156, 180:236] = True
    sem = torch.full((2, 256, 256), 3)
    for k in range(3):
        sem[masks[k]] = k
    return dict(masks=masks, labels=torch.tensor([0, 1, 2]), sem_seg=sem)


def test_level_assignment_and_heatmap_numbers():
    gen = PanopticFCNTargetGenerator(num_things=3, num_stuff=2,
                                     instance_scales=((1, 64), (48, 256)))
    target = gen([_clip()], (256, 256), (64, 64), [(32, 32), (16, 16)])[0]
    assert target['pos'][0].tolist() == [[False, False], [False, True], [True, True]]
    assert target['pos'][1].tolist() == [[True, True], [False, False], [True, True]]
    # A at level 1: stride-4 mask rows 8..32 and cols 12..49 -> mass centre (30.5, 20)
    # -> level (x, y) = (int(7.625), int(5)) = (7, 5); box (151, 99) / 16 -> radius
    # int(2.05) = 2, sigma 5 / 3
    heat = target['center'][1][0, 0]
    sigma = 5 / 3
    assert heat[5, 7] == 1
    assert heat[5, 8].item() == pytest.approx(math.exp(-1 / (2 * sigma**2)), rel=1e-6)
    assert heat[5, 9].item() == pytest.approx(math.exp(-4 / (2 * sigma**2)), rel=1e-6)
    assert heat[7, 9].item() == pytest.approx(math.exp(-8 / (2 * sigma**2)), rel=1e-6)
    assert heat[5, 10] == 0 and heat[2, 7] == 0
    assert int((heat > 0).sum()) == 25  # the full 5 x 5 window
    # A is no target at level 0: its class channel is empty there
    assert target['center'][0][:, 0].sum() == 0
    # B is absent in frame 0: no peak in frame 0, one in frame 1
    assert target['center'][0][0, 1].sum() == 0
    assert target['center'][0][1, 1].max() == 1
    # soft stride-4 masks: A's block, exactly 1 inside
    assert target['masks'].shape == (3, 2, 64, 64)
    assert torch.equal(target['masks'][0, 0] > 0, torch.zeros(64, 64).index_fill(
        0, torch.arange(8, 33), 1).bool() & torch.zeros(64, 64).index_fill(
            1, torch.arange(12, 50), 1).bool())


def test_region_targets_soft_values():
    gen = PanopticFCNTargetGenerator(num_things=3, num_stuff=2, instance_scales=((1, 8), (8, 64)))
    sem = torch.full((1, 8, 8), 3)  # stuff label 3 -> region channel 1
    sem[0, 4:] = 0  # thing -> channel 0
    sem[0, 1, 1] = 255  # void: no channel
    target = gen([dict(masks=torch.zeros(0, 1, 8, 8, dtype=torch.bool),
                       labels=torch.zeros(0, dtype=torch.long), sem_seg=sem)],
                 (8, 8), (2, 2), [(2, 2), (1, 1)])[0]
    # stride 4: sample (0, 0) averages pixels rows/cols 1..2, one of them void
    assert target['sem'][0, 1, 0, 0].item() == pytest.approx(0.75)
    assert target['sem'][0, 0, 1, 0].item() == pytest.approx(1.0)
    assert target['sem'][0, 2].sum() == 0
    # level (2, 2) = the stride-4 map; level (1, 1) = its mean: channel 0 (thing, bottom
    # row) 0.5 is kept, channel 1 (0.75 + 1 + 0 + 0) / 4 = 0.4375 < 0.5 is zeroed
    assert target['region'][0][0, 1, 0, 0].item() == pytest.approx(0.75)
    assert target['region'][1][0, 0, 0, 0].item() == pytest.approx(0.5)
    assert target['region'][1][0, 1, 0, 0] == 0
    assert target['region_pos'][0][0].tolist() == [True, True, False]
    assert target['region_pos'][1][0].tolist() == [True, False, False]


def test_bad_input_is_named():
    gen = PanopticFCNTargetGenerator(num_things=3, num_stuff=2, instance_scales=((1, 64),))
    clip = _clip()
    with pytest.raises(ValueError, match='1 instance_scales'):
        gen([clip], (256, 256), (64, 64), [(32, 32), (16, 16)])
    with pytest.raises(ValueError, match='T = 1'):
        gen([dict(clip, sem_seg=clip['sem_seg'][:1])], (256, 256), (64, 64), [(32, 32)])
    with pytest.raises(KeyError, match='labels'):
        gen([dict(masks=clip['masks'], sem_seg=clip['sem_seg'])], (256, 256), (64, 64),
            [(32, 32)])

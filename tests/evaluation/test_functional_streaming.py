"""Streaming state, hand-computed small cases and input errors of the metric core."""
import pickle

import numpy as np
import pytest

from mmvps.evaluation.functional import (WINDOW_PRESETS, VideoPanopticAccumulator,
                                         VideoSemSegAccumulator, count_segment_pairs)

VOID = 255
CATEGORIES = [dict(id=0, name='road', isthing=0), dict(id=1, name='car', isthing=1),
              dict(id=2, name='sky', isthing=0)]
ISTHING = np.array([False, True, False, False])


def street(t, size=(6, 8)):
    """A frame with road, sky, two moving cars (tracks 1, 2) and a void corner."""
    sem = np.zeros(size, np.int64)
    sem[:2] = 2
    inst = np.zeros(size, np.int64)
    for track, row in ((1, 2), (2, 4)):
        x = (t + 3 * track) % (size[1] - 2)
        sem[row:row + 2, x:x + 2], inst[row:row + 2, x:x + 2] = 1, track
    sem[-1, -1] = VOID
    return sem, inst


def test_window_presets():
    assert WINDOW_PRESETS == {'cityscapes_vps': (1, 2, 3, 4), 'vipseg': (1, 2, 4, 6),
                              'vipseg_official': (1, 2, 4, 6, 8), 'viper': (5, 10, 15),
                              'kitti_step': (1, 2, 3, 4)}


def test_count_segment_pairs_by_hand():
    gt_sem = np.array([[0, 0, 1], [1, 1, 255]])
    gt_inst = np.array([[7, 0, 3], [3, 0, 9]])  # road id 7 is junk, car 0 is crowd
    pred_sem = np.array([[0, 1, 1], [1, 3, 255]])  # 3 = C and 255: predicted void
    pred_inst = np.array([[0, 0, 5], [5, 0, 0]])
    gt, pred, counts = count_segment_pairs(gt_sem, gt_inst, pred_sem, pred_inst, 3, ISTHING,
                                           VOID)
    pairs = {}
    for g, p, c in zip(gt.tolist(), pred.tolist(), counts.tolist()):
        key = ((g >> 32, g & 0xFFFFFFFF), (p >> 32, p & 0xFFFFFFFF))
        pairs[key] = pairs.get(key, 0) + c
    assert pairs == {((0, 0), (0, 0)): 1, ((0, 0), (1, 0)): 1, ((1, 3), (1, 5)): 2,
                     ((1, 0), (3, 0)): 1, ((3, 0), (3, 0)): 1}


def test_panoptic_by_hand_two_frames():
    """Row 0 is void; car 1 is the 2 x 2 block below it, road the rest. The predicted car covers
    3 of the 4 car pixels plus 1 void pixel, and switches from id 1 to id 2 in frame 1."""
    sem = np.zeros((2, 3, 4), np.int64)
    sem[:, 0, :] = VOID
    sem[:, 1:, :2] = 1
    inst = np.where(sem == 1, 1, 0)
    pred_sem = np.zeros_like(sem)
    pred_sem[:, 1:, :2] = 1
    pred_sem[:, 2, 1] = 0  # 3 of the 4 car pixels
    pred_sem[:, 0, 0] = 1  # 1 predicted car pixel on void
    pred_inst = np.where(pred_sem == 1, 1, 0)
    pred_inst[1] *= 2
    acc = VideoPanopticAccumulator(CATEGORIES, VOID, windows=(1, 2), with_stq=False)
    for t in range(2):
        acc.update('v', sem[t], inst[t], pred_sem[t], pred_inst[t])
    result = acc.compute()
    car = result['per_class']['car']
    # image: IoU = 3 / (4 + 4 - 3 - 1) = 0.75 in both frames
    assert (car['TP'], car['FP'], car['FN'], car['PQ']) == (2, 0, 0, 0.75)
    # n=2 tube: I = 3 of |g| = 4 + 4 and |p| = 4 per id, 1 on void: 3 / (4 + 8 - 3 - 1) < 0.5
    assert (car['TP@n=2'], car['FP@n=2'], car['FN@n=2'], car['VPQ@n=2']) == (0, 2, 1, 0.0)
    # road: 4 GT px; 8 predicted px, 3 of them on void: IoU 4 / (8 + 4 - 4 - 3) per frame
    road = result['per_class']['road']
    assert road['PQ'] == 0.8 and road['VPQ@n=2'] == 0.8
    assert result['PQ'] == {'all': (0.75 + 0.8) / 2, 'things': 0.75, 'stuff': 0.8}
    assert result['per_class']['sky']['PQ'] is None  # no TP, FP or FN: left out


def test_buffered_frames_never_exceed_largest_window_minus_one():
    for windows, largest in (((1, 3, 5), 5), ((1, ), 1), (WINDOW_PRESETS['viper'], 15)):
        acc = VideoPanopticAccumulator(CATEGORIES, VOID, windows)
        for video in ('a', 'b'):
            for t in range(20):
                acc.update(video, *street(t), *street(t + 1))
                assert acc.num_buffered_frames == min(t + 1, largest - 1)
        acc.finish()
        assert acc.num_buffered_frames == 0


def test_state_does_not_grow_with_video_length():
    """The pickled accumulator (what ranks exchange) stays bounded along a long video."""
    acc = VideoPanopticAccumulator(CATEGORIES, VOID, (1, 2, 4, 6))
    sem_acc = VideoSemSegAccumulator(3, VOID, vc_windows=(2, 4))
    sizes, sem_sizes = [], []
    for t in range(160):
        sem, inst = street(t)
        acc.update('long', sem, inst, *street(t + t % 3))
        sem_acc.update('long', sem, street(t + t % 3)[0])
        sizes.append(len(pickle.dumps(acc)))
        sem_sizes.append(len(pickle.dumps(sem_acc)))
    # STQ sums are consolidated every 32 frames: compare two such periods (a few bytes of
    # growing counters aside; one buffered frame is ~300 bytes)
    assert max(sizes[96:160]) <= max(sizes[32:96]) + 200
    assert max(sem_sizes[96:160]) <= max(sem_sizes[32:96]) + 200


def test_predicted_void_as_num_classes_or_void_label_is_the_same():
    results = []
    for pred_void in (3, VOID):
        acc = VideoPanopticAccumulator(CATEGORIES, VOID, (1, 2))
        for t in range(3):
            sem, inst = street(t)
            pred_sem, pred_inst = street(t + 1)
            pred_sem[0, :3] = pred_void
            acc.update('v', sem, inst, pred_sem, pred_inst)
        results.append(acc.compute())
    assert results[0] == results[1]
    assert results[0]['IoU'] < 1


def test_large_instance_ids_take_the_fallback_path_with_the_same_result():
    def run(offset):
        acc = VideoPanopticAccumulator(CATEGORIES, VOID, (1, 2))
        for t in range(4):
            sem, inst = street(t)
            pred_sem, pred_inst = street(t + (t > 1))
            acc.update('v', sem, np.where(inst > 0, inst + offset, 0), pred_sem,
                       np.where(pred_inst > 0, pred_inst + offset, 0))
        return acc.compute()
    assert run(2**31) == run(0)


def test_windows_without_one_still_give_image_pq():
    acc = VideoPanopticAccumulator(CATEGORIES, VOID, WINDOW_PRESETS['viper'])
    for t in range(7):
        acc.update('v', *street(t), *street(t))
    result = acc.compute()
    assert result['PQ']['all'] == 1.0
    assert result['VPQ'] == {'n=5': {'all': 1.0, 'things': 1.0, 'stuff': 1.0}, 'n=10': None,
                             'n=15': None, 'mean': None}
    assert result['per_class']['car']['TP@n=10'] == 0 and result['per_class']['car'][
        'VPQ@n=10'] is None


def test_empty_accumulators_compute_nones():
    result = VideoPanopticAccumulator(CATEGORIES, VOID, (1, 2)).compute()
    assert result['PQ'] == {'all': None, 'things': None, 'stuff': None}
    assert result['VPQ'] == {'n=1': None, 'n=2': None, 'mean': None}
    assert (result['STQ'], result['AQ'], result['IoU'], result['per_video']) == (None, None,
                                                                                None, {})
    sem = VideoSemSegAccumulator(3, VOID).compute()
    assert sem == {'mIoU': None, 'mVC8': None, 'mVC16': None, 'per_class_IoU': [None] * 3}


def test_video_consistency_by_hand():
    """Two pixels over 5 frames; n = 2: window starts 0..2 by default, 0..3 with the last one."""
    gt = np.array([[0, 1]] * 4 + [[2, 1]])[:, None, :]  # pixel 1 is always constant
    pred = np.array([[0, 0], [0, 0], [1, 0], [1, 0], [1, 0]])[:, None, :]
    # windows (0, 1): G 2 px, both consistent; (1, 2): prediction of pixel 0 changes -> 1/2;
    # (2, 3): 2/2; the last window (3, 4): the GT of pixel 0 changes, G = pixel 1 -> 1/1
    expected = {False: [1.0, 0.5, 1.0], True: [1.0, 0.5, 1.0, 1.0]}
    for include_last, vcs in expected.items():
        acc = VideoSemSegAccumulator(3, VOID, vc_windows=(2, 5),
                                     vc_include_last_window=include_last)
        for t in range(5):
            acc.update('v', gt[t], pred[t])
        result = acc.compute()
        assert result['mVC2'] == pytest.approx(np.mean(vcs))
        # n = 5: only the last (full-video) window, G = pixel 1 only, P holds there
        assert result['mVC5'] == (1.0 if include_last else None)
        # GT 0 (4 px) predicted 0 twice; prediction 0 also covers all of GT 1: IoU 2 / 9
        assert result['mIoU'] == pytest.approx((2 / 9 + 0 + 0) / 3)


def test_miou_undefined_when_a_labelled_pixel_is_predicted_outside_the_classes():
    acc = VideoSemSegAccumulator(3, VOID)
    acc.update('v', np.array([[0, VOID]]), np.array([[0, VOID]]))  # on GT void: ignored
    assert acc.compute()['mIoU'] == 1.0
    acc = VideoSemSegAccumulator(3, VOID)
    acc.update('v', np.array([[0, 1]]), np.array([[0, VOID]]))
    result = acc.compute()
    assert result['mIoU'] is None and result['per_class_IoU'] == [None] * 3


@pytest.mark.parametrize('maps, error, message', [
    ((np.zeros((2, 2)), ) + (np.zeros((2, 2), int), ) * 3, TypeError, 'must hold integers'),
    ((np.zeros((2, 2), int), ) * 3 + (np.zeros((2, 3), int), ), ValueError, 'differ in shape'),
    ((np.full((2, 2), 7), ) + (np.zeros((2, 2), int), ) * 3, ValueError, 'label 7'),
    ((np.zeros((2, 2), int), ) * 2 + (np.full((2, 2), 4), np.zeros((2, 2), int)), ValueError,
     'label 4'),
    ((np.zeros((2, 2), int), np.full((2, 2), -1)) + (np.zeros((2, 2), int), ) * 2, ValueError,
     'instance map has the value -1'),
    ((np.zeros((2, 2), int), ) * 2 + (np.full((2, 2), 300), np.zeros((2, 2), int)), ValueError,
     'semantic map has the value 300, outside 0..255'),
    ((np.zeros((2, 2), np.int8), ) + (np.zeros((2, 2), int), ) * 2 + (np.full((2, 2), -3), ),
     ValueError, 'predicted instance map has the value -3'),
    ((np.zeros((2, 2), np.uint64), ) * 4, None, None),
])
def test_bad_panoptic_input_raises_naming_the_frame(maps, error, message):
    acc = VideoPanopticAccumulator(CATEGORIES, VOID, (1, 2))
    acc.update('clip', *(np.zeros((2, 2), int), ) * 4)
    if error is None:  # a valid map of another integer type
        acc.update('clip', *maps)
        assert acc.compute()['PQ']['all'] == 1.0
        return
    with pytest.raises(error, match=message) as info:
        acc.update('clip', *maps)
    assert "video 'clip' frame 1" in str(info.value)


def test_bad_counted_pairs_raise_naming_the_frame():
    acc = VideoPanopticAccumulator(CATEGORIES, VOID, (1, 2))
    one = np.array([0])
    with pytest.raises(ValueError, match="video 'v' frame 0: the ground-truth semantic map has "
                       "label 7"):
        acc.update_pairs('v', [7], one, one, one, [4])
    with pytest.raises(ValueError, match='predicted instance map has the value -2'):
        acc.update_pairs('v', one, one, one, [-2], [4])
    with pytest.raises(ValueError, match='one non-negative count per pair'):
        acc.update_pairs('v', one, one, one, one, [4, 1])
    with pytest.raises(ValueError, match='one non-negative count per pair'):
        acc.update_pairs('v', one, one, one, one, [-4])
    acc.update_pairs('v', [0, 1], [0, 3], [0, 1], [0, 9], [4, 2])
    assert acc.compute()['PQ']['all'] == 1.0


def test_bad_semseg_input_raises_naming_the_frame():
    acc = VideoSemSegAccumulator(3, VOID)
    with pytest.raises(ValueError, match="video 'clip' frame 0: ground-truth label 9"):
        acc.update('clip', np.full((2, 2), 9), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match='ground-truth semantic map has the value 256'):
        acc.update('clip', np.full((2, 2), 256), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match='predicted semantic map has the value -1'):
        acc.update('clip', np.zeros((2, 2), int), np.full((2, 2), -1))
    acc = VideoSemSegAccumulator(3, VOID)
    acc.update('clip', np.zeros((2, 2), int), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match='differs from the previous frame'):
        acc.update('clip', np.zeros((3, 2), int), np.zeros((3, 2), int))
    with pytest.raises(TypeError, match='integers'):
        acc.update('clip', np.zeros((2, 2), float), np.zeros((2, 2), int))


def test_interleaved_videos_and_overlapping_merges_are_refused():
    zeros = (np.zeros((2, 2), int), ) * 4
    for make, frame in ((lambda: VideoPanopticAccumulator(CATEGORIES, VOID, (1, )), zeros),
                        (lambda: VideoSemSegAccumulator(3, VOID), zeros[:2])):
        acc = make()
        acc.update('a', *frame)
        acc.update('b', *frame)
        with pytest.raises(ValueError, match="video 'a' was already closed"):
            acc.update('a', *frame)
        other = make()
        other.update('b', *frame)
        with pytest.raises(ValueError, match=r"both hold the videos \['b'\]"):
            acc.merge(other)


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match='contiguous ids'):
        VideoPanopticAccumulator([dict(id=1, name='a', isthing=0)])
    with pytest.raises(ValueError, match='void label 2 collides'):
        VideoPanopticAccumulator(CATEGORIES, void=2)
    with pytest.raises(ValueError, match='positive'):
        VideoPanopticAccumulator(CATEGORIES, windows=(0, 2))
    with pytest.raises(ValueError, match='different windows'):
        VideoPanopticAccumulator(CATEGORIES, windows=(1, 2)).merge(
            VideoPanopticAccumulator(CATEGORIES, windows=(1, 3)))
    with pytest.raises(ValueError, match='different vc_include_last_window'):
        VideoSemSegAccumulator(3).merge(VideoSemSegAccumulator(3, vc_include_last_window=True))

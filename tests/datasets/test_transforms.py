"""Video-consistent transforms, clip sampling and packing (mmvps.datasets.transforms)."""
import random

import numpy as np
import pytest
import torch
from mmdet.structures import TrackDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks
from mmengine.registry import init_default_scope

from mmvps.datasets.transforms import (FilterTrackAnnotations, PackVideoPanopticInputs,
                                       VideoClipSample)
from mmvps.registry import TRANSFORMS

H, W = 48, 64
STUFF, VOID = 4, 255


@pytest.fixture(autouse=True)
def mmvps_scope():
    init_default_scope('mmvps')


def make_frame(t, num_frames=3):
    """One loaded frame whose image stores its own pixel coordinates (R = x, G = y), so that
    after any crop / flip / nearest resize the image tells which source pixel each output pixel
    came from. Instance 1 (label 0) moves right by 14 px per frame, instance 2 (label 1) is an
    L shape moving down, instance 3 (label 2, crowd) stays put."""
    yy, xx = np.mgrid[:H, :W]
    img = np.stack([xx, yy, np.full_like(xx, 10 * t)], -1).astype(np.uint8)
    masks = np.zeros((3, H, W), np.uint8)
    masks[0, 8:22, 4 + 14 * t:18 + 14 * t] = 1
    masks[1, 20 + 6 * t:34 + 6 * t, 44:47] = 1  # L: vertical bar ...
    masks[1, 31 + 6 * t:34 + 6 * t, 44:60] = 1  # ... and its foot
    masks[2, 36:44, 2:10] = 1
    seg = np.full((H, W), STUFF, np.uint8)
    seg[:3] = VOID
    for label, mask in enumerate(masks):
        seg[mask.astype(bool)] = label
    bitmap = BitmapMasks(masks, H, W)
    return dict(
        img=img, img_shape=(H, W), ori_shape=(H, W), gt_masks=bitmap,
        gt_bboxes=bitmap.get_bboxes(HorizontalBoxes), gt_bboxes_labels=np.array([0, 1, 2]),
        gt_instances_ids=np.array([1, 2, 3]), gt_ignore_flags=np.array([False, False, True]),
        gt_seg_map=seg, img_path=f'imgs/v/{3 * t:08d}.jpg', frame_id=t, frame_name=f'{3 * t:08d}',
        video_id=0, video_name='0_abc', video_length=num_frames, ori_video_length=num_frames,
        is_annotated=True)


def make_sample(num_frames=3):
    frames = [make_frame(t, num_frames) for t in range(num_frames)]
    return {key: [frame[key] for frame in frames] for key in frames[0]}


def spatial_pipeline(share_random_params=True):
    return TRANSFORMS.build(dict(
        type='TransformBroadcaster',
        share_random_params=share_random_params,
        transforms=[
            dict(type='RandomResize', scale=(W, H), ratio_range=(0.8, 1.5), keep_ratio=True,
                 interpolation='nearest'),
            dict(type='RandomCrop', crop_size=(40, 32), recompute_bbox=True,  # (w, h)
                 allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
            dict(type='FilterTrackAnnotations'),
        ]))


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)


def test_spatial_transforms_shared_and_pixel_aligned():
    """Every frame gets the same resize / crop / flip, and each frame's masks, boxes and
    semantic map stay aligned with its image pixel for pixel; instances cut away are dropped
    with their ids, the others keep theirs."""
    pipeline = spatial_pipeline()
    dropped = flipped = 0
    for seed in range(12):
        seed_all(seed)
        source = make_sample()
        out = pipeline(make_sample())
        coords = [img[..., :2] for img in out['img']]
        for t in range(1, 3):
            np.testing.assert_array_equal(coords[t], coords[0])
        assert len(set(out['flip_direction'])) == 1 and len(set(out['scale_factor'])) == 1
        flipped += out['flip'][0]
        src_x, src_y = coords[0][..., 0].astype(int), coords[0][..., 1].astype(int)
        for t in range(3):
            np.testing.assert_array_equal(out['img'][t][..., 2], 10 * t)
            np.testing.assert_array_equal(out['gt_seg_map'][t],
                                          source['gt_seg_map'][t][src_y, src_x])
            expected = source['gt_masks'][t].masks[:, src_y, src_x]
            visible = np.flatnonzero(expected.any(axis=(1, 2)))
            dropped += 3 - len(visible)
            np.testing.assert_array_equal(out['gt_instances_ids'][t], visible + 1)
            np.testing.assert_array_equal(out['gt_bboxes_labels'][t], visible)
            np.testing.assert_array_equal(out['gt_ignore_flags'][t], visible == 2)
            np.testing.assert_array_equal(out['gt_masks'][t].masks, expected[visible])
            tight = BitmapMasks(expected[visible], *expected.shape[1:]).get_bboxes(HorizontalBoxes)
            np.testing.assert_array_equal(out['gt_bboxes'][t].numpy(), tight.numpy())
    assert dropped > 0 and 0 < flipped < 12  # the checks covered drops, flips and no flips


def test_unshared_random_params_differ():
    """Control: without shared parameters the frames of a sample do get different crops."""
    pipeline = spatial_pipeline(share_random_params=False)
    differs = False
    for seed in range(5):
        seed_all(seed)
        out = pipeline(make_sample())
        differs |= any(out['img'][t].shape != out['img'][0].shape or
                       not np.array_equal(out['img'][t][..., :2], out['img'][0][..., :2])
                       for t in range(1, 3))
    assert differs


@pytest.mark.parametrize('share', [True, False])
def test_photometric_distortion_shared(share):
    pipeline = TRANSFORMS.build(dict(
        type='TransformBroadcaster', share_random_params=share,
        transforms=[dict(type='PhotoMetricDistortion')]))
    identical = []
    for seed in range(6):
        seed_all(seed)
        sample = make_sample()
        sample['img'] = [sample['img'][0].copy() for _ in range(3)]  # same picture 3 times
        out = pipeline(sample)
        identical.append(all(np.array_equal(out['img'][t], out['img'][0]) for t in range(3)))
    assert all(identical) if share else not all(identical)


def test_filter_track_annotations_drops_every_field():
    frame = make_frame(0)
    masks = frame['gt_masks'].masks.copy()
    masks[1] = 0  # instance 2 lost every pixel (a crop kept its clipped box only)
    frame['gt_masks'] = BitmapMasks(masks, H, W)
    out = FilterTrackAnnotations()(frame)
    np.testing.assert_array_equal(out['gt_instances_ids'], [1, 3])
    np.testing.assert_array_equal(out['gt_bboxes_labels'], [0, 2])
    np.testing.assert_array_equal(out['gt_ignore_flags'], [False, True])
    assert len(out['gt_bboxes']) == 2 and len(out['gt_masks']) == 2
    np.testing.assert_array_equal(out['gt_masks'].masks, masks[[0, 2]])

    # by box: instance 1 is 14 px wide, instance 3 only 8
    out = FilterTrackAnnotations(min_gt_bbox_wh=(10, 1), by_box=True, by_mask=False)(
        make_frame(0))
    np.testing.assert_array_equal(out['gt_instances_ids'], [1, 2])

    empty = make_frame(0)
    empty['gt_masks'] = BitmapMasks(np.zeros((3, H, W), np.uint8), H, W)
    out = FilterTrackAnnotations()(empty)
    assert out is not None and len(out['gt_instances_ids']) == 0 and len(out['gt_masks']) == 0

    unloaded = make_frame(0)
    del unloaded['gt_masks']
    with pytest.raises(KeyError, match='imgs/v/00000000.jpg.*needs gt_masks'):
        FilterTrackAnnotations()(unloaded)


def test_pack_video_panoptic_inputs():
    sample = make_sample()
    sample['key_frame_flags'] = [False, True, False]
    sample['flip'] = [False] * 3
    sample['flip_direction'] = [None] * 3
    sample['scale_factor'] = [(1.0, 1.0)] * 3
    sample['gt_panoptic_seg'] = [seg.astype(np.int64) + 1000 * t
                                 for t, seg in enumerate(sample['gt_seg_map'])]
    packed = PackVideoPanopticInputs()(sample)
    inputs, data_sample = packed['inputs'], packed['data_samples']
    assert isinstance(data_sample, TrackDataSample)
    assert inputs.shape == (3, 3, H, W) and inputs.dtype == torch.uint8
    assert torch.equal(inputs[2].permute(1, 2, 0), torch.from_numpy(sample['img'][2]))
    assert data_sample.key_frames_inds == [1] and data_sample.ref_frames_inds == [0, 2]
    assert len(data_sample) == 3
    for t, frame in enumerate(data_sample.video_data_samples):
        gt = frame.gt_instances
        assert torch.equal(gt.instances_ids, torch.tensor([1, 2]))  # crowd 3 is ignored
        assert torch.equal(gt.labels, torch.tensor([0, 1]))
        assert isinstance(gt.masks, BitmapMasks) and isinstance(gt.bboxes, HorizontalBoxes)
        np.testing.assert_array_equal(gt.masks.masks, sample['gt_masks'][t].masks[:2])
        assert torch.equal(frame.ignored_instances.instances_ids, torch.tensor([3]))
        assert frame.gt_sem_seg.sem_seg.dtype == torch.int64
        assert frame.gt_sem_seg.sem_seg.shape == (1, H, W)
        assert torch.equal(frame.gt_sem_seg.sem_seg[0],
                           torch.from_numpy(sample['gt_seg_map'][t]).long())
        assert frame.gt_panoptic_seg.sem_seg.dtype == torch.int64
        assert int(frame.gt_panoptic_seg.sem_seg[0, 26, 30]) == STUFF + 1000 * t
        meta = frame.metainfo
        assert meta['frame_id'] == t and meta['frame_name'] == f'{3 * t:08d}'
        assert meta['video_name'] == '0_abc' and meta['video_id'] == 0
        assert meta['key_frame_flags'] == (t == 1)
        assert meta['img_path'] == f'imgs/v/{3 * t:08d}.jpg' and meta['is_annotated']
        assert meta['ori_shape'] == (H, W) and meta['img_shape'] == (H, W)
        assert meta['video_length'] == 3 and meta['ori_video_length'] == 3
        assert meta['flip'] is False and meta['scale_factor'] == (1.0, 1.0)


def test_pack_streamed_frame_and_errors():
    sample = make_sample(1)
    del sample['gt_ignore_flags']
    packed = PackVideoPanopticInputs()(sample)
    data_sample = packed['data_samples']
    assert data_sample.key_frames_inds == [0] and data_sample.ref_frames_inds == []
    assert len(data_sample[0].gt_instances) == 3  # no ignore flags: every instance is packed

    sample = make_sample(2)
    sample['img'][1] = sample['img'][1][:-1]
    with pytest.raises(ValueError, match='imgs/v/00000003.jpg'):
        PackVideoPanopticInputs()(sample)
    sample = make_sample(2)
    sample['frame_id'] = [0]
    with pytest.raises(ValueError, match='"frame_id" has 1 entries for 2 frames'):
        PackVideoPanopticInputs()(sample)


def video_record(video_length, name='7_video'):
    return dict(
        video_id=7, video_name=name, video_length=video_length,
        images=[dict(img_path=f'{name}/{3 * i:08d}.jpg', frame_id=i, video_id=7, video_name=name,
                     label_map=np.arange(4), img=np.full((4, 6, 3), i, np.uint8))
                for i in range(video_length)])


def test_video_clip_sample_training():
    sampler = VideoClipSample(clip_length=3, frame_stride=2)
    out = sampler(dict(video_record(10), key_frame_id=1))
    assert out['frame_id'] == [1, 3, 5] and out['key_frame_flags'] == [True] * 3
    assert out['video_length'] == [3] * 3 and out['ori_video_length'] == [10] * 3
    out = sampler(dict(video_record(10), key_frame_id=9))  # moved back to fit
    assert out['frame_id'] == [5, 7, 9]
    out = sampler(dict(video_record(4), key_frame_id=2))  # too short: last frame repeats
    assert out['frame_id'] == [0, 2, 3]
    random.seed(0)
    for _ in range(20):
        ids = sampler(video_record(10))['frame_id']
        assert np.diff(ids).tolist() == [2, 2] and 0 <= ids[0] <= 5
    # every list has one entry per frame, as TransformBroadcaster needs
    assert {len(v) for v in out.values()} == {3}


def test_video_clip_sample_test_mode():
    sampler = VideoClipSample(clip_length=3, clip_overlap=1, test_mode=True)
    flags = {}
    for start in (0, 2, 4, 6, 7):  # video_clip_starts(10, 3, 1)
        out = sampler(dict(video_record(10), key_frame_id=start))
        assert out['frame_id'] == list(range(start, start + 3))
        flags[start] = [f for f, key in zip(out['frame_id'], out['key_frame_flags']) if key]
    assert flags == {0: [0, 1, 2], 2: [3, 4], 4: [5, 6], 6: [7, 8], 7: [9]}
    out = sampler(dict(video_record(2), key_frame_id=0))  # shorter than a clip
    assert out['frame_id'] == [0, 1] and out['key_frame_flags'] == [True, True]
    with pytest.raises(ValueError, match='video 7_video: frame 3 starts no test clip'):
        sampler(dict(video_record(10), key_frame_id=3))
    with pytest.raises(KeyError, match='key_frame_id'):
        sampler(video_record(10))
    with pytest.raises(ValueError, match='frame_stride must be 1'):
        VideoClipSample(clip_length=2, frame_stride=2, test_mode=True)


def test_reference_frame_sampling_feeds_broadcaster():
    """Video K-Net's key + one reference frame in [-2, 2] with mmdet's UniformRefFrameSample
    on mmvps video records, then a shared transform over the sampled frames."""
    pipeline = [TRANSFORMS.build(dict(type='UniformRefFrameSample', num_ref_imgs=1,
                                      frame_range=2, collect_video_keys=['video_id',
                                                                         'video_length'])),
                TRANSFORMS.build(dict(type='TransformBroadcaster', share_random_params=True,
                                      transforms=[dict(type='RandomFlip', prob=0.5)]))]
    random.seed(1)
    for key in range(10):
        results = dict(video_record(10), key_frame_id=key)
        for transform in pipeline:
            results = transform(results)
        ref = [f for f, is_key in zip(results['frame_id'], results['key_frame_flags'])
               if not is_key]
        assert len(ref) == 1 and ref[0] != key and abs(ref[0] - key) <= 2
        assert key in results['frame_id'] and len(set(results['flip'])) == 1

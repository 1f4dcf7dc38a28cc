"""ClipPanopticFCN end to end (Clip-PanoFCN spec Sec. 3.1, 4, 5, 11): clip ground truth, loss and
predict on a 2-frame 64x64 clip, one id per object within a clip and across clips, a 10-frame
video in clips of 3, the learned clip feature fusion."""
import copy

import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine import Config
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData, PixelData

from mmvps.datasets import SyntheticVPSDataset, generate_synthetic_vps
from mmvps.datasets.samplers import VideoBalancedTestSampler
from mmvps.models.heads.panoptic_fcn import ClipFeatureFusion, get_clip_instance_gts
from mmvps.registry import MODELS
from mmvps.structures import INSTANCE_OFFSET
from mmvps.utils import register_all_modules

register_all_modules()
CONFIG = 'configs/clip_panofcn/clip_panofcn_r18_synthetic.py'
NUM_THINGS, NUM_CLASSES = 3, 6


def tiny_model(**overrides):
    cfg = copy.deepcopy(Config.fromfile(CONFIG).model)
    cfg.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def training_clip(size=64):
    """Two frames: a square (track 1, class 0) in both, moving; a disc (track 2, class 1) only
    in frame 1; stuff class 3 above row 32 and 4 below, void in the last rows."""
    frames = []
    for t in range(2):
        masks = [torch.zeros(size, size, dtype=torch.bool)]
        masks[0][10:26, 8 + 4 * t:24 + 4 * t] = True
        labels, ids = [0], [0 + 1 * INSTANCE_OFFSET]
        if t == 1:
            disc = torch.zeros(size, size, dtype=torch.bool)
            disc[36:52, 36:52] = True
            masks.append(disc)
            labels.append(1)
            ids.append(1 + 2 * INSTANCE_OFFSET)
        sem = torch.full((size, size), 3, dtype=torch.long)
        sem[32:] = 4
        sem[60:] = 255
        for label, mask in zip(labels, masks):
            sem[mask] = label
        frame = DetDataSample(metainfo=dict(
            frame_id=t, video_name='v', img_path=f'v/{t}.jpg', img_shape=(size, size),
            ori_shape=(size, size), batch_input_shape=(size, size)))
        frame.gt_instances = InstanceData(labels=torch.tensor(labels), masks=torch.stack(masks),
                                          instances_ids=torch.tensor(ids))
        frame.gt_sem_seg = PixelData(sem_seg=sem[None])
        frames.append(frame)
    sample = TrackDataSample()
    sample.video_data_samples = frames
    return sample


def test_clip_ground_truth_one_target_per_track():
    sample = training_clip()
    # pad to a larger batch input: masks False and semantic map void there
    for frame in sample:
        frame.set_metainfo(dict(batch_input_shape=(64, 96)))
    gts = get_clip_instance_gts(sample, NUM_THINGS)
    assert gts['labels'].tolist() == [0, 1]
    assert gts['instances_ids'].tolist() == [1000, 2001]
    assert gts['masks'].shape == (2, 2, 64, 96)
    assert gts['masks'][0, 0, 10:26, 8:24].all() and gts['masks'][0, 1, 10:26, 12:28].all()
    assert gts['masks'][0].sum().tolist() == 2 * 16 * 16
    assert not gts['masks'][1, 0].any() and gts['masks'][1, 1].sum() == 16 * 16  # absent: empty
    assert (gts['sem_seg'][:, :, 64:] == 255).all() and gts['sem_seg'].shape == (2, 64, 96)

    frames = list(sample)
    frames[1].gt_instances.labels = torch.tensor([2, 1])  # track 1000 changes class
    with pytest.raises(ValueError, match='track 1000 has class 2 here and class 0'):
        get_clip_instance_gts(sample, NUM_THINGS)
    del frames[1].gt_instances.instances_ids
    with pytest.raises(ValueError, match='v/1.jpg: thing instances without instances_ids'):
        get_clip_instance_gts(sample, NUM_THINGS)


def test_loss_and_predict_on_a_two_frame_clip():
    model = tiny_model()
    sample = training_clip()
    inputs = torch.randn(1, 2, 3, 64, 64)
    losses = model.loss(inputs, [sample])
    assert set(losses) == {'loss_pos_th', 'loss_pos_st', 'loss_seg_th', 'loss_seg_st'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.panoptic_head.thing_projector.conv.weight.grad.abs().sum() > 0
    assert model.panoptic_head.stuff_projector.conv.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='are images and need DetDataSamples, got '
                       'TrackDataSample'):
        model.loss(inputs[0], [sample])
    with pytest.raises(ValueError, match=r'expects \[N, T, 3, H, W\] clips'):
        model.loss(inputs[0, 0], [sample])

    model.eval()
    sample = training_clip()
    for frame in sample:  # a 60x62 frame padded to the 64x64 input
        frame.set_metainfo(dict(img_shape=(60, 62), ori_shape=(30, 31)))
    with torch.no_grad():
        out = model.predict(inputs, [sample])[0]
    for frame in out:
        pan = frame.pred_panoptic_seg.sem_seg
        assert pan.shape == (1, 30, 31) and pan.dtype == torch.long
        sem, track = pan % INSTANCE_OFFSET, pan // INSTANCE_OFFSET
        assert sem.max() <= NUM_CLASSES and sem.min() >= 0
        assert (track[sem >= NUM_THINGS] == 0).all()  # stuff and void carry no track
        instances = frame.pred_track_instances
        assert (instances.labels < NUM_THINGS).all() and (instances.instances_id > 0).all()
    outputs = model._forward(inputs)
    assert outputs['mask_features'].shape == (2, 16, 16, 16)


def scripted_model(candidates_per_clip):
    """The real fusion, merge and tracker on hand-made head candidates, one set per clip."""
    model = tiny_model().eval()
    queue = list(candidates_per_clip)
    model._forward_frames = lambda frames, num_frames: {}
    model.panoptic_head.get_clip_candidates = lambda outputs, num_frames: [queue.pop(0)]
    return model


def moving_objects_candidates(start, num_frames=3, noise=0.05, seed=0):
    """Two squares of class 1 moving right (features channel 0 / 2 mark them in each frame);
    each frame proposes its own noisy kernel for each (cos > 0.9 to the clean one); stuff
    channel 1 (class 3) everywhere."""
    gen = torch.Generator().manual_seed(seed)
    features = torch.full((num_frames, 16, 4, 4), -10.0)
    features[:, 1] = 1.0
    for t in range(num_frames):
        x = (start + t) % 3
        features[t, 0, 0:2, x:x + 2] = 10.0
        features[t, 2, 2:4, x:x + 2] = 10.0
    eye = torch.eye(16)
    kernels = torch.cat([eye[[0]] + noise * torch.randn(num_frames, 16, generator=gen),
                         eye[[2]] + noise * torch.randn(num_frames, 16, generator=gen)])
    scores = torch.linspace(0.9, 0.6, 2 * num_frames)
    return dict(thing_kernels=kernels, thing_scores=scores,
                thing_labels=torch.ones(2 * num_frames, dtype=torch.long),
                stuff_kernels=eye[[1, 1]], stuff_scores=torch.tensor([0.6, 0.8]),
                stuff_labels=torch.tensor([1, 1]), mask_features=features)


def clip_sample(frame_ids, video='v', size=16):
    frames = [DetDataSample(metainfo=dict(
        frame_id=t, video_name=video, img_path=f'{video}/{t}.jpg', img_shape=(size, size),
        ori_shape=(size, size))) for t in frame_ids]
    sample = TrackDataSample()
    sample.video_data_samples = frames
    return torch.zeros(1, len(frame_ids), 3, size, size), [sample]


def object_tracks(frame):
    pan = frame.pred_panoptic_seg.sem_seg[0]
    things = pan % INSTANCE_OFFSET < NUM_THINGS
    return torch.unique(pan[:8][things[:8]]), torch.unique(pan[8:][things[8:]])


def test_one_id_per_object_within_and_across_clips():
    model = scripted_model([moving_objects_candidates(0), moving_objects_candidates(3, seed=1)])
    ids = []
    for frame_ids in ([0, 1, 2], [3, 4, 5]):
        out = model.predict(*clip_sample(frame_ids))[0]
        for frame in out:
            top, bottom = object_tracks(frame)
            assert len(top) == 1 and len(bottom) == 1  # each object one segment in every frame
            ids.append((int(top), int(bottom)))
            assert frame.pred_track_instances.instances_id.tolist() == [1, 2]
    # class 1, tracks 1 and 2 in all six frames: the clip fusion ties the frames of a clip,
    # the memory ties the two clips
    assert set(ids) == {(1 + 1 * INSTANCE_OFFSET, 1 + 2 * INSTANCE_OFFSET)}
    assert len(model.tracker.memory[1]) == 2
    # a new video starts a new memory
    model.panoptic_head.get_clip_candidates = lambda outputs, num_frames: [
        moving_objects_candidates(0)]
    model.predict(*clip_sample([0, 1, 2], video='w'))
    assert len(model.tracker.memory[1]) == 2


def test_without_tracking_ids_do_not_survive_a_clip_boundary():
    # a cost limit of ~0 matches nothing: the second clip's objects are new tracks 3 and 4
    model = scripted_model([moving_objects_candidates(0), moving_objects_candidates(3, seed=1)])
    model.tracker.cost_limit = 1e-9
    model.predict(*clip_sample([0, 1, 2]))
    out = model.predict(*clip_sample([3, 4, 5]))[0]
    assert [int(t) // INSTANCE_OFFSET for t in object_tracks(out[0])] == [3, 4]


def test_ten_frame_video_in_clips_of_three_predicts_every_frame_once(tmp_path):
    generate_synthetic_vps(str(tmp_path), num_train_videos=0, num_val_videos=1, num_frames=10,
                           height=64, width=96, seed=3)
    pipeline = [
        dict(type='VideoClipSample', clip_length=3, test_mode=True),
        dict(type='TransformBroadcaster', transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True)]),
        dict(type='PackVideoPanopticInputs'),
    ]
    dataset = SyntheticVPSDataset(data_root=str(tmp_path), ann_file='val.txt',
                                  data_prefix=dict(img='imgs/', seg='panomasks/'),
                                  test_mode=True, pipeline=pipeline)
    sampler = VideoBalancedTestSampler(dataset, clip_length=3)
    model = tiny_model().eval()
    predicted, clips = [], []
    with torch.no_grad():
        for index in sampler:
            sample = model.test_step(pseudo_collate([dataset[index]]))[0]
            frames = list(sample)
            clips.append([frame.frame_id for frame in frames])
            for i in sample.key_frames_inds:
                pan = frames[i].pred_panoptic_seg.sem_seg
                assert pan.shape == frames[i].gt_panoptic_seg.sem_seg.shape == (1, 64, 96)
                predicted.append(frames[i].frame_id)
    # clips of 3; the last one ends at the last frame and predicts only frame 9 anew
    assert clips == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [7, 8, 9]]
    assert predicted == list(range(10))


def test_clip_feature_fusion_mean_and_temporal_weights():
    torch.manual_seed(0)
    fusion = ClipFeatureFusion(in_channels=16, channels=8, num_levels=2, dilations=(1, 2),
                               norm_cfg=dict(type='GN', num_groups=4))
    fusion.init_weights()
    feats = [torch.randn(4, 16, 8, 8), torch.randn(4, 16, 4, 4)]  # 2 clips of 2 frames
    out = fusion(feats, num_frames=2)
    assert [o.shape for o in out] == [f.shape for f in feats]
    # the clip context is shared by a clip's frames: swapping frame 0's input for frame 1's
    # changes frame 0's output only through its own level map
    swapped = [f.clone() for f in feats]
    swapped[0][[0, 1]] = feats[0][[1, 0]]
    out_swapped = fusion(swapped, num_frames=2)
    torch.testing.assert_close(out_swapped[1], out[1])  # level 1 input unchanged, same context

    weighted = ClipFeatureFusion(in_channels=16, channels=8, num_levels=2, dilations=(1, 2),
                                 num_frames=2, norm_cfg=dict(type='GN', num_groups=4))
    weighted.load_state_dict(fusion.state_dict(), strict=False)
    assert weighted.frame_weights.tolist() == [0.5, 0.5]  # 1/T: the mean at initialisation
    for a, b in zip(weighted(feats, num_frames=2), out):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match='need clips of 2 frames, got 4'):
        weighted(feats, num_frames=4)
    with pytest.raises(ValueError, match='built for 2 levels, got 1'):
        fusion(feats[:1], num_frames=2)


def test_model_with_learned_clip_fusion_pads_a_short_clip():
    model = tiny_model(clip_feature_fusion=dict(
        type='ClipFeatureFusion', in_channels=64, channels=16, num_levels=3, num_frames=2,
        norm_cfg=dict(type='GN', num_groups=8)))
    losses = model.loss(torch.randn(1, 2, 3, 64, 64), [training_clip()])
    sum(losses.values()).backward()
    assert model.clip_feature_fusion.frame_weights.grad is not None
    model.eval()
    inputs, samples = clip_sample([0], size=64)  # one frame: padded to the 2 of the weights
    out = model.predict(torch.randn_like(inputs), samples)[0]
    assert out[0].pred_panoptic_seg.sem_seg.shape == (1, 64, 64)


def test_images_are_clips_of_one_frame():
    """The COCO pretraining configs feed [B, 3, H, W] images with DetDataSamples (mmdet's
    PackDetInputs: no track ids)."""
    model = tiny_model()
    images = []
    for frame in training_clip():
        sample = DetDataSample(metainfo=frame.metainfo)
        sample.gt_instances = InstanceData(labels=frame.gt_instances.labels,
                                           masks=frame.gt_instances.masks)
        sample.gt_sem_seg = frame.gt_sem_seg
        images.append(sample)
    inputs = torch.randn(2, 3, 64, 64)
    losses = model.loss(inputs, images)
    assert all(torch.isfinite(v) for v in losses.values())
    assert model._forward(inputs)['mask_features'].shape == (2, 16, 16, 16)
    model.eval()
    with torch.no_grad():
        out = model.predict(inputs, images)
    assert out is images
    for sample in out:
        pan = sample.pred_panoptic_seg.sem_seg
        assert pan.shape == (1, 64, 64)
        ids = torch.unique(pan[pan % INSTANCE_OFFSET < NUM_THINGS] // INSTANCE_OFFSET)
        assert ids.tolist() == list(range(1, len(ids) + 1))  # things numbered 1, 2, ...

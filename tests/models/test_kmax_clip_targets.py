"""Tube ground truth of clip-kMaX from clips packed by the real pipeline."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.data_preprocessors import TrackDataPreprocessor
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.structures import InstanceData, PixelData

from mmvps.datasets import SyntheticVPSDataset, generate_synthetic_vps
from mmvps.models.heads import get_panoptic_gt
from mmvps.models.heads.kmax import get_clip_panoptic_targets
from mmvps.utils import register_all_modules

HEIGHT, WIDTH, PAD = 40, 56, 64  # padded to 64 x 64 by the preprocessor; masks 16 x 16


@pytest.fixture(scope='module')
def packed_clips(tmp_path_factory):
    """Every 2-frame clip of one synthetic training video, packed and preprocessed."""
    register_all_modules()
    root = tmp_path_factory.mktemp('synthetic')
    generate_synthetic_vps(str(root), num_train_videos=1, num_val_videos=0, num_frames=8,
                           height=HEIGHT, width=WIDTH, seed=2)
    pipeline = [
        dict(type='VideoClipSample', clip_length=2),
        dict(type='TransformBroadcaster', share_random_params=True, transforms=[
            dict(type='LoadImageFromFile'), dict(type='LoadVideoPanopticAnnotations')]),
        dict(type='PackVideoPanopticInputs')
    ]
    dataset = SyntheticVPSDataset(data_root=str(root), ann_file='train.txt',
                                  data_prefix=dict(img='imgs/', seg='panomasks/'),
                                  pipeline=pipeline)
    preprocessor = TrackDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], pad_size_divisor=32)
    clips = []
    for start in range(7):
        packed = dataset[(0, start)]
        batch = preprocessor(dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]),
                             training=True)
        clips.append(batch['data_samples'][0])
    return clips, dataset.metainfo


def padded(tensor, value):
    return F.pad(tensor, (0, PAD - tensor.shape[-1], 0, PAD - tensor.shape[-2]), value=value)


def test_tube_targets_of_packed_clips(packed_clips):
    clips, metainfo = packed_clips
    num_things = len(metainfo['thing_classes'])
    num_stuff = len(metainfo['stuff_classes'])
    found_partial_track = False
    for clip in clips:
        frames = clip.video_data_samples
        assert frames[0].batch_input_shape == (PAD, PAD)
        targets = get_clip_panoptic_targets(clip, num_things, num_stuff, (PAD // 4, PAD // 4))
        tracks = sorted({i for f in frames for i in f.gt_instances.instances_ids.tolist()})
        stuff = sorted({c for f in frames for c in f.gt_sem_seg.sem_seg.unique().tolist()
                        if num_things <= c < num_things + num_stuff})
        assert len(targets) == len(tracks) + len(stuff)
        assert targets.masks.shape == (len(targets), 2, PAD // 4, PAD // 4)
        assert targets.masks.dtype == torch.float32
        assert sorted(targets.instances_ids[:len(tracks)].tolist()) == tracks
        assert targets.instances_ids[len(tracks):].tolist() == [-1] * len(stuff)
        assert targets.labels[len(tracks):].tolist() == stuff
        for m in range(len(targets)):
            track, label = targets.instances_ids[m].item(), targets.labels[m].item()
            for t, frame in enumerate(frames):
                if track >= 0:
                    ids = frame.gt_instances.instances_ids.tolist()
                    if track not in ids:  # absent in this frame: an empty mask
                        assert not targets.masks[m, t].any()
                        assert targets.masks[m, 1 - t].any()
                        found_partial_track = True
                        continue
                    k = ids.index(track)
                    assert frame.gt_instances.labels[k].item() == label
                    full = torch.from_numpy(frame.gt_instances.masks.masks[k]).float()
                else:
                    full = (frame.gt_sem_seg.sem_seg[0] == label).float()
                # every 4th pixel of the padded frame, starting at 0
                assert torch.equal(targets.masks[m, t], padded(full, 0)[::4, ::4])
        assert torch.equal(targets.ignore_mask, targets.masks.sum(0) == 0)
        assert targets.ignore_mask[:, HEIGHT // 4:].all() and targets.ignore_mask[..., 14:].all()
        for t, frame in enumerate(frames):
            sem = padded(frame.gt_sem_seg.sem_seg[0], 255)[::4, ::4]
            valid = ~targets.ignore_mask[t]
            assert torch.equal(targets.sem_seg[t][valid], sem[valid])
            assert (targets.sem_seg[t][~valid] == 255).all()
    assert found_partial_track, 'no clip of the synthetic video has a track in one frame only'


def test_single_frame_clip_is_the_image_case(packed_clips):
    clips, metainfo = packed_clips
    frame = clips[0].video_data_samples[0]
    single = TrackDataSample()
    single.video_data_samples = [frame]
    args = (len(metainfo['thing_classes']), len(metainfo['stuff_classes']), (16, 16))
    targets = get_clip_panoptic_targets(single, *args)
    image = get_panoptic_gt(frame, *args, downsample='nearest')
    assert torch.equal(targets.labels, image.labels)
    assert torch.equal(targets.masks[:, 0], image.masks)
    assert torch.equal(targets.ignore_mask[0], image.ignore_mask)


def hand_frame(labels, masks, ids, sem):
    frame = DetDataSample(metainfo=dict(img_path='hand.png', batch_input_shape=(4, 4),
                                        img_shape=(4, 4)))
    frame.gt_instances = InstanceData(labels=torch.tensor(labels), masks=masks,
                                      instances_ids=torch.tensor(ids))
    frame.gt_sem_seg = PixelData(sem_seg=sem[None])
    return frame


def test_clip_targets_need_consistent_track_ids():
    sem = torch.zeros(4, 4, dtype=torch.long)
    mask = torch.ones(1, 4, 4, dtype=torch.bool)
    clip = TrackDataSample()
    clip.video_data_samples = [hand_frame([0], mask, [1001], sem),
                               hand_frame([0], mask, [-1], sem)]
    with pytest.raises(ValueError, match='instances_ids'):
        get_clip_panoptic_targets(clip, 2, 1, (2, 2))
    clip.video_data_samples = [hand_frame([0], mask, [1001], sem),
                               hand_frame([1], mask, [1001], sem + 1)]
    with pytest.raises(ValueError, match='track 1001'):
        get_clip_panoptic_targets(clip, 2, 1, (2, 2))


def test_criterion_on_packed_clip_targets(packed_clips):
    """Targets of real packed clips drive the criterion: a prediction that reproduces the
    tubes is matched query-to-tube and has near-zero PQ, mask-ID and semantic losses; a random
    one does not."""
    from mmvps.models.heads.kmax import KMaXCriterion
    clips, metainfo = packed_clips
    num_things, num_stuff = len(metainfo['thing_classes']), len(metainfo['stuff_classes'])
    num_classes = num_things + num_stuff
    targets = [get_clip_panoptic_targets(clip, num_things, num_stuff, (16, 16))
               for clip in clips[:2]]
    num_queries = max(len(t) for t in targets) + 3
    mask_logits = torch.zeros(2, num_queries, 2, 16, 16)
    class_logits = torch.zeros(2, num_queries, num_classes + 1)
    class_logits[:, :, -1] = 20  # unmatched queries say void
    semantic = torch.zeros(2, 2, num_classes, 16, 16)
    for b, target in enumerate(targets):
        mask_logits[b, :len(target)] = 20 * target.masks
        class_logits[b, :len(target)] = 0
        class_logits[b, torch.arange(len(target)), target.labels] = 20
        valid = target.sem_seg != 255
        semantic[b].permute(0, 2, 3, 1)[valid] = 20 * F.one_hot(target.sem_seg[valid],
                                                               num_classes).float()
    features = F.normalize(torch.randn(2, 8, 2, 16, 16), dim=1)
    perfect = dict(class_logits=class_logits, mask_logits=mask_logits, pixel_feature=features)
    criterion = KMaXCriterion(num_classes=num_classes)
    processed = criterion.process_targets(perfect, targets)
    for b, target in enumerate(targets):
        assert torch.equal(processed['labels'][b, :len(target)], target.labels)
        assert (processed['labels'][b, len(target):] == num_classes).all()
    losses = criterion(perfect, semantic.flatten(0, 1), targets)
    for name in ('loss_pq_class', 'loss_pq_dice', 'loss_mask_id', 'loss_semantic'):
        assert losses[name].item() < 1e-4, name
    torch.manual_seed(0)
    random = dict(class_logits=torch.randn_like(class_logits),
                  mask_logits=torch.randn_like(mask_logits), pixel_feature=features)
    random_losses = criterion(random, torch.randn(4, num_classes, 16, 16), targets)
    for name in ('loss_pq_class', 'loss_pq_dice', 'loss_mask_id', 'loss_semantic'):
        assert random_losses[name].item() > 0.05, name

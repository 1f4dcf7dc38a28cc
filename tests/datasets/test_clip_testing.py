"""Near-online testing through a real dataset: clips of T frames with an overlap cover every
frame of every video exactly once as key frames, in order."""

from mmvps.datasets import SyntheticVPSDataset, generate_synthetic_vps
from mmvps.datasets.samplers import VideoBalancedTestSampler
from mmvps.utils import register_all_modules


def test_overlapping_test_clips_cover_every_frame_once(tmp_path):
    register_all_modules()
    root = tmp_path / 'synth'
    generate_synthetic_vps(str(root), num_train_videos=1, num_val_videos=2, num_frames=7,
                           height=32, width=48, seed=3)
    pipeline = [
        dict(type='VideoClipSample', clip_length=3, clip_overlap=1, test_mode=True),
        dict(type='TransformBroadcaster', transforms=[dict(type='LoadImageFromFile')]),
    ]
    dataset = SyntheticVPSDataset(data_root=str(root), ann_file='val.txt',
                                  data_prefix=dict(img='imgs/', seg='panomasks/'),
                                  test_mode=True, pipeline=pipeline)
    sampler = VideoBalancedTestSampler(dataset, clip_length=3, clip_overlap=1)
    keys = {}
    for idx in sampler:
        sample = dataset[idx]
        assert len(sample['img']) == 3
        for frame_id, is_key in zip(sample['frame_id'], sample['key_frame_flags']):
            if is_key:
                keys.setdefault(idx[0], []).append(frame_id)
    # starts 0, 2, 4 for 7 frames: keys 0-2, 3-4, 5-6; every frame once, in order
    assert keys == {0: list(range(7)), 1: list(range(7))}

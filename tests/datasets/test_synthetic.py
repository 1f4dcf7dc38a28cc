"""The synthetic VIPSeg-format generator (mmvps.datasets.synthetic) and its CLI."""
import json
import os
import random
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from PIL import Image

from mmvps.datasets.formats import load_vipseg_raw
from mmvps.datasets.synthetic import (SYNTHETIC_CATEGORIES, SyntheticVPSDataset,
                                      generate_synthetic_vps, synthetic_metainfo)

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZE = dict(height=64, width=96)
THING_IDS = {c['id'] for c in SYNTHETIC_CATEGORIES if c['isthing']}


def tree_files(root):
    return sorted(p.relative_to(root).as_posix() for p in Path(root).rglob('*') if p.is_file())


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic') / 'vps'
    metainfo = generate_synthetic_vps(root, num_train_videos=3, num_val_videos=2,
                                      num_frames=8, seed=5, **SIZE)
    return root, metainfo


def read_video(root, video):
    """Decoded masks of a video in frame order: ``(frame names, [(cat, inst)])``."""
    names = sorted(p.stem for p in (root / 'panomasks' / video).glob('*.png'))
    return names, [load_vipseg_raw(root / 'panomasks' / video / f'{n}.png') for n in names]


def tracks_of(cat, inst):
    """``{(cat, inst): mask}`` of the thing segments of a frame."""
    keys = {(int(c), int(i)) for c, i in zip(cat[inst > 0], inst[inst > 0])}
    return {key: (cat == key[0]) & (inst == key[1]) for key in keys}


def touches_border(mask):
    return mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()


def test_same_seed_same_bytes(tree, tmp_path):
    root, _ = tree
    again = tmp_path / 'again'
    generate_synthetic_vps(again, num_train_videos=3, num_val_videos=2, num_frames=8, seed=5,
                           **SIZE)
    files = tree_files(root)
    assert files == tree_files(again) and len(files) == 4 + 2 * 5 * 8
    for name in files:
        assert (root / name).read_bytes() == (again / name).read_bytes(), name
    other = tmp_path / 'other'
    generate_synthetic_vps(other, num_train_videos=3, num_val_videos=2, num_frames=8, seed=6,
                           **SIZE)
    assert (root / 'train.txt').read_text() != (other / 'train.txt').read_text()


def test_vipseg_layout_and_category_files(tree):
    root, metainfo = tree
    train = (root / 'train.txt').read_text()
    val = (root / 'val.txt').read_text()
    assert train.endswith('\n') and val.endswith('\n')
    videos = train.split() + val.split()
    assert len(train.split()) == 3 and len(val.split()) == 2
    assert sorted(os.listdir(root / 'imgs')) == sorted(videos)
    assert sorted(os.listdir(root / 'panomasks')) == sorted(videos)
    for index, video in enumerate(videos):
        number, youtube_id = video.split('_', 1)
        assert number == str(index) and len(youtube_id) == 11

    raw_ids = json.loads((root / 'label_num_dic_final.json').read_text())
    assert raw_ids == {'others': '0', 'sky': '1', 'ground': '2', 'square': '3', 'wall': '4',
                       'disc': '5', 'triangle': '6'}
    categories = json.loads((root / 'panoVIPSeg_categories.json').read_text())
    assert [(c['id'], c['name'], c['isthing']) for c in categories] == [
        (0, 'sky', 0), (1, 'ground', 0), (2, 'square', 1), (3, 'wall', 0), (4, 'disc', 1),
        (5, 'triangle', 1)]
    assert metainfo == synthetic_metainfo()
    assert metainfo['classes'] == ('square', 'disc', 'triangle', 'sky', 'ground', 'wall')
    assert metainfo['thing_classes'] == ('square', 'disc', 'triangle')
    assert metainfo['label2cat'] == [2, 4, 5, 0, 1, 3]


def test_frames_are_real_jpeg_and_16bit_png(tree):
    root, _ = tree
    for video in os.listdir(root / 'imgs'):
        jpgs = sorted((root / 'imgs' / video).iterdir())
        stems = [p.stem for p in jpgs]
        assert all(len(s) == 8 and s.isdigit() for s in stems)
        assert np.diff([int(s) for s in stems]).tolist() == [3] * 7  # VSPW indices, step 3
        for jpg in jpgs:
            with Image.open(jpg) as img:
                assert img.format == 'JPEG' and img.mode == 'RGB'
                assert img.size == (SIZE['width'], SIZE['height'])
            with Image.open(root / 'panomasks' / video / f'{jpg.stem}.png') as mask:
                assert mask.format == 'PNG' and mask.mode.startswith('I;16')
                assert mask.size == (SIZE['width'], SIZE['height'])


def test_tracks_consistent_moving_entering_leaving_occluded(tree):
    root, _ = tree
    entered = left = occluded = 0
    max_step = 8 * SIZE['width'] / 160 + 2  # fastest object (7 px/frame at width 160) + raster
    for video in os.listdir(root / 'panomasks'):
        names, maps = read_video(root, video)
        frames = []
        for cat, inst in maps:
            assert set(np.unique(cat)) <= {-1, 0, 1, 2, 3, 4, 5}
            assert not inst[~np.isin(cat, list(THING_IDS))].any()  # stuff and void: no track
            assert (inst[np.isin(cat, list(THING_IDS))] > 0).all()  # no crowd
            assert (cat == -1).any()  # a thin void outline, like VIPSeg's
            frames.append(tracks_of(cat, inst))
            assert 1 <= len(frames[-1]) <= 4
        track_ids = set().union(*frames)
        for key in track_ids:
            present = [t for t, tracks in enumerate(frames) if key in tracks]
            masks = {t: frames[t][key] for t in present}
            inside = {t: m.sum() for t, m in masks.items() if not touches_border(m)}
            full = max(inside.values(), default=0)
            centres = {t: np.argwhere(masks[t]).mean(0) for t in inside if inside[t] > 0.9 * full}
            # one id = one rigid object: same size whenever whole, small steps between frames
            for t in centres:
                if t + 1 in centres:
                    assert np.abs(centres[t + 1] - centres[t]).max() <= max_step, (video, key)
            if len(centres) > 1:  # it moves
                assert len({tuple(np.round(c, 1)) for c in centres.values()}) > 1, (video, key)
            if present[0] > 0 and touches_border(masks[present[0]]):
                entered += 1
            if present[-1] < len(frames) - 1 and touches_border(masks[present[-1]]):
                left += 1
            for t, area in inside.items():
                others = [m for k, m in frames[t].items() if k != key]
                grown = np.zeros_like(masks[t])
                grown[1:] |= masks[t][:-1]
                grown[:-1] |= masks[t][1:]
                grown[:, 1:] |= masks[t][:, :-1]
                grown[:, :-1] |= masks[t][:, 1:]
                if area < 0.85 * full and any((grown & m).any() for m in others):
                    occluded += 1
    assert entered >= 1 and left >= 1 and occluded >= 1


def test_dataset_reads_the_tree(tree):
    root, metainfo = tree
    dataset = SyntheticVPSDataset(ann_file='train.txt', data_root=str(root), test_mode=True)
    assert len(dataset) == 3 and dataset.metainfo['classes'] == metainfo['classes']
    video = dataset.get_data_info(1)
    train_videos = (root / 'train.txt').read_text().split()
    assert video['video_name'] == train_videos[1] and video['video_length'] == 8
    frame = video['images'][2]
    assert frame['seg_format'] == 'vipseg_raw' and frame['height'] == SIZE['height']
    assert frame['img_path'].endswith(f'{frame["frame_name"]}.jpg') and frame['frame_id'] == 2
    cat, _ = load_vipseg_raw(frame['seg_map_path'])
    labels = frame['label_map'][cat + 1]
    for label, name in enumerate(metainfo['classes']):
        official = [c['id'] for c in SYNTHETIC_CATEGORIES if c['name'] == name][0]
        assert (labels[cat == official] == label).all()
    assert (labels[cat == -1] == 255).all()


def test_refuses_non_empty_dir_and_bad_arguments(tmp_path):
    (tmp_path / 'keep.txt').write_text('x')
    with pytest.raises(FileExistsError, match=str(tmp_path)):
        generate_synthetic_vps(tmp_path, num_train_videos=1, num_val_videos=0, num_frames=2)
    generate_synthetic_vps(tmp_path, num_train_videos=1, num_val_videos=0, num_frames=2,
                           overwrite=True, **SIZE)
    assert len(list((tmp_path / 'imgs').iterdir())) == 1
    with pytest.raises(ValueError, match='num_frames'):
        generate_synthetic_vps(tmp_path / 'a', num_frames=0)
    with pytest.raises(ValueError, match='at least one video'):
        generate_synthetic_vps(tmp_path / 'b', num_train_videos=0, num_val_videos=0)
    with pytest.raises(ValueError, match='too small'):
        generate_synthetic_vps(tmp_path / 'c', height=16)


def test_cli(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'cli'
    monkeypatch.setattr(sys, 'argv', [
        'make_synthetic_vps.py', str(out), '--train-videos', '1', '--val-videos', '1',
        '--frames', '3', '--height', '48', '--width', '64', '--seed', '2'])
    runpy.run_path(str(REPO_ROOT / 'tools/misc/make_synthetic_vps.py'), run_name='__main__')
    assert 'wrote 1 train + 1 val videos' in capsys.readouterr().out
    reference = tmp_path / 'api'
    generate_synthetic_vps(reference, 1, 1, 3, 48, 64, 2)
    assert tree_files(out) == tree_files(reference)
    assert all((out / n).read_bytes() == (reference / n).read_bytes() for n in tree_files(out))


def test_training_samples_from_the_tree(tree):
    """The tree through Video K-Net's training pipeline: a key frame and a reference frame
    within 2 frames, resized / cropped / flipped alike, packed with the same tracked objects."""
    root, _ = tree
    init_default_scope('mmvps')
    pipeline = [
        dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=2),
        dict(type='TransformBroadcaster', share_random_params=True, transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=(96, 64), ratio_range=(0.8, 1.25), keep_ratio=True),
            dict(type='RandomCrop', crop_size=(64, 48), recompute_bbox=True,  # (w, h)
                 allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='FilterTrackAnnotations'),
        ]),
        dict(type='PackVideoPanopticInputs'),
    ]
    dataset = SyntheticVPSDataset(ann_file='train.txt', data_root=str(root), pipeline=pipeline)
    shared_tracks = 0
    for seed in range(4):
        random.seed(seed)
        np.random.seed(seed)
        packed = dataset[seed % len(dataset)]
        frames = packed['data_samples'].video_data_samples
        assert packed['inputs'].shape == (2, 3, 48, 64)
        assert len(packed['data_samples'].key_frames_inds) == 1
        assert 1 <= abs(frames[1].frame_id - frames[0].frame_id) <= 2
        assert frames[0].flip == frames[1].flip
        for frame in frames:
            sem = frame.gt_sem_seg.sem_seg[0]
            gt = frame.gt_instances
            assert (gt.labels < 3).all() and len(set(gt.instances_ids.tolist())) == len(gt)
            for mask, label in zip(gt.masks.masks, gt.labels):
                assert mask.any() and (sem[torch.from_numpy(mask).bool()] == label).all()
        shared_tracks += len(set(frames[0].gt_instances.instances_ids.tolist()) &
                             set(frames[1].gt_instances.instances_ids.tolist()))
    assert shared_tracks > 0

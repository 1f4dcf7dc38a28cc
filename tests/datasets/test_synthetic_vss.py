"""The synthetic VSPW-format generator with hard frames (mmvps.datasets.synthetic_vss)."""
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmvps.datasets import SyntheticVSSDataset, VSPWDataset, generate_synthetic_vss
from mmvps.datasets.formats import FormatError
from mmvps.datasets.synthetic_vss import (HARD_KINDS, _RENDER_COLORS, degrade_frame,
                                          render_vss_video)

REPO_ROOT = Path(__file__).resolve().parents[2]
ARGS = dict(num_train_videos=3, num_val_videos=2, num_frames=10, height=48, width=80, seed=3)


def tree_files(root):
    return sorted(p.relative_to(root).as_posix() for p in Path(root).rglob('*') if p.is_file())


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic') / 'vss'
    metainfo = generate_synthetic_vss(root, hard_prob=0.4, **ARGS)
    return root, metainfo


def test_vspw_layout(tree):
    root, metainfo = tree
    train, val = (root / 'train.txt').read_text(), (root / 'val.txt').read_text()
    videos = train.split() + val.split()
    assert len(train.split()) == 3 and len(val.split()) == 2 and train.endswith('\n')
    assert sorted(p.name for p in (root / 'data').iterdir()) == sorted(videos)
    assert json.loads((root / 'label_num_dic_final.json').read_text()) == {
        'others': '0', 'sky': '1', 'ground': '2', 'square': '3', 'wall': '4', 'disc': '5',
        'triangle': '6'}
    assert metainfo['classes'] == ('sky', 'ground', 'square', 'wall', 'disc', 'triangle')
    assert metainfo['thing_classes'] == () and metainfo['label2cat'] == [0, 1, 2, 3, 4, 5]
    for video in videos:
        stems = sorted(p.stem for p in (root / 'data' / video / 'origin').glob('*.jpg'))
        assert stems == sorted(p.stem for p in (root / 'data' / video / 'mask').glob('*.png'))
        assert np.diff([int(s) for s in stems]).tolist() == [1] * 9  # contiguous, like VSPW
        with Image.open(root / 'data' / video / 'mask' / f'{stems[0]}.png') as mask:
            assert mask.mode == 'L' and mask.size == (80, 48)
            raw = np.array(mask)
        assert set(np.unique(raw)) <= {1, 2, 3, 4, 5, 6, 255} and (raw == 255).any()


def test_dataset_decodes_painted_gt_pixel_by_pixel(tree):
    """What the generator painted (official ids, -1 void) is what VSPW's loader gives as
    training labels (label = id, void 255), frame by frame."""
    from mmengine.registry import init_default_scope
    from mmvps.datasets.transforms import LoadVideoPanopticAnnotations
    init_default_scope('mmvps')
    root, _ = tree
    dataset = SyntheticVSSDataset(ann_file='val.txt', data_root=str(root), test_mode=True)
    load = LoadVideoPanopticAnnotations(with_panoptic=True)
    for video_id in range(len(dataset)):
        video = dataset.get_data_info(video_id)
        index = ARGS['num_train_videos'] + video_id
        painted = list(render_vss_video(ARGS['seed'], index, 10, 48, 80, hard_prob=0.4))
        assert video['video_length'] == len(painted) == 10
        for frame, (_, _, image, cat, _) in zip(video['images'], painted):
            assert frame['seg_format'] == 'vspw' and frame['num_things'] == 0
            loaded = load(dict(frame))
            expected = np.where(cat < 0, 255, cat)
            np.testing.assert_array_equal(loaded['gt_seg_map'], expected)
            np.testing.assert_array_equal(loaded['gt_panoptic_seg'], expected)
            assert (frame['height'], frame['width']) == image.shape[:2] == (48, 80)


def test_plain_vspw_dataset_refuses_the_tree(tree):
    root, _ = tree
    with pytest.raises(FormatError, match='label_num_dic_final.json'):
        VSPWDataset(ann_file='val.txt', data_root=str(root), test_mode=True)


def test_same_seed_same_bytes(tree, tmp_path):
    root, _ = tree
    again = tmp_path / 'again'
    generate_synthetic_vss(again, hard_prob=0.4, **ARGS)
    files = tree_files(root)
    assert files == tree_files(again) and len(files) == 4 + 2 * 5 * 10
    assert all((root / n).read_bytes() == (again / n).read_bytes() for n in files)
    other = tmp_path / 'other'
    generate_synthetic_vss(other, hard_prob=0.4, **dict(ARGS, seed=4))
    assert (root / 'train.txt').read_text() != (other / 'train.txt').read_text()


def test_hard_frames_differ_from_clean_and_gt_is_unchanged(tree, tmp_path):
    root, _ = tree
    clean = tmp_path / 'clean'
    generate_synthetic_vss(clean, hard_prob=0.0, **ARGS)
    record = json.loads((root / 'hard_frames.json').read_text())
    videos = (root / 'train.txt').read_text().split() + (root / 'val.txt').read_text().split()
    assert sorted(record) == sorted(videos)
    assert json.loads((clean / 'hard_frames.json').read_text()) == {v: {} for v in videos}
    kinds, num_frames = [], 0
    for video in videos:
        for mask in sorted((root / 'data' / video / 'mask').glob('*.png')):
            num_frames += 1
            assert mask.read_bytes() == (clean / 'data' / video / 'mask' / mask.name).read_bytes()
            hard = np.asarray(Image.open(root / 'data' / video / 'origin' / f'{mask.stem}.jpg'),
                              np.float64)
            easy = np.asarray(Image.open(clean / 'data' / video / 'origin' / f'{mask.stem}.jpg'),
                              np.float64)
            kind = record[video].get(mask.stem)
            if kind is None:
                np.testing.assert_array_equal(hard, easy)
                continue
            kinds.append(kind)
            if kind == 'noise':  # sigma 40 on top of the clean frame (JPEG blurs some of it)
                assert (hard - easy).std() > 20
            elif kind == 'low_contrast':
                assert hard.std(axis=(0, 1)).mean() < 0.5 * easy.std(axis=(0, 1)).mean()
            else:  # blur: smaller differences between neighbours
                assert np.abs(np.diff(hard, axis=1)).mean() < 0.8 * np.abs(np.diff(easy, axis=1)).mean() or \
                    np.abs(np.diff(hard, axis=0)).mean() < 0.8 * np.abs(np.diff(easy, axis=0)).mean()
    assert set(kinds) == set(HARD_KINDS)
    assert 0.2 < len(kinds) / num_frames < 0.6  # i.i.d. with p = 0.4


def test_line_blur_and_contrast_by_hand():
    rng = np.random.default_rng(0)
    image = np.zeros((3, 7, 3))
    image[1, 3] = 90.0
    blurred = degrade_frame(image, 'motion_blur', rng, direction=(1.0, 0.0), blur_length=3)
    np.testing.assert_allclose(blurred[1, 2:5, 0], [30, 30, 30])
    assert blurred[1, [0, 1, 5, 6]].sum() == 0 and blurred[[0, 2]].sum() == 0
    vertical = degrade_frame(image, 'motion_blur', rng, direction=(0.0, 1.0), blur_length=3)
    np.testing.assert_allclose(vertical[:, 3, 0], [30, 30, 30])
    flat = degrade_frame(np.full((2, 2, 3), 50.0), 'low_contrast', rng)
    np.testing.assert_allclose(flat, 50.0)
    with pytest.raises(ValueError, match='fog'):
        degrade_frame(image, 'fog', rng)


def test_wall_and_ground_share_the_mean_colour():
    """Same mean colour, different texture: the wall's bricks at the painted colour average to
    the ground's checkerboard mean."""
    yy, xx = np.mgrid[0:72, 0:144] + 0.5
    row = np.floor(yy / 6)
    mortar = (np.mod(yy, 6) < 1) | (np.mod(xx + 6 * (row % 2), 12) < 1)
    wall = np.asarray(_RENDER_COLORS[3]) * np.where(mortar, 1.4, 1.0).mean()
    ground = np.asarray(_RENDER_COLORS[1]) * np.where(
        (np.floor(xx / 8) + np.floor(yy / 8)) % 2 == 0, 1.0, 0.78).mean()
    np.testing.assert_allclose(wall, ground)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='hard_prob'):
        generate_synthetic_vss(tmp_path / 'a', hard_prob=1.5)
    with pytest.raises(ValueError, match='at least one video'):
        generate_synthetic_vss(tmp_path / 'b', num_train_videos=0, num_val_videos=0)
    (tmp_path / 'c').mkdir()
    (tmp_path / 'c' / 'keep.txt').write_text('x')
    with pytest.raises(FileExistsError, match=str(tmp_path / 'c')):
        generate_synthetic_vss(tmp_path / 'c', num_train_videos=1, num_val_videos=0)


def test_cli(tmp_path, monkeypatch, capsys):
    out = tmp_path / 'cli'
    monkeypatch.setattr(sys, 'argv', [
        'make_synthetic_vps.py', str(out), '--format', 'vspw', '--train-videos', '1',
        '--val-videos', '1', '--frames', '3', '--height', '48', '--width', '64', '--seed', '2',
        '--hard-prob', '0.5'])
    runpy.run_path(str(REPO_ROOT / 'tools/misc/make_synthetic_vps.py'), run_name='__main__')
    assert 'wrote 1 train + 1 val videos' in capsys.readouterr().out
    reference = tmp_path / 'api'
    generate_synthetic_vss(reference, 1, 1, 3, 48, 64, 2, hard_prob=0.5)
    assert tree_files(out) == tree_files(reference)
    assert all((out / n).read_bytes() == (reference / n).read_bytes() for n in tree_files(out))
    monkeypatch.setattr(sys, 'argv', ['make_synthetic_vps.py', str(tmp_path / 'x'),
                                      '--hard-prob', '0.5'])
    with pytest.raises(SystemExit):
        runpy.run_path(str(REPO_ROOT / 'tools/misc/make_synthetic_vps.py'), run_name='__main__')
    assert '--hard-prob applies to --format vspw only' in capsys.readouterr().err

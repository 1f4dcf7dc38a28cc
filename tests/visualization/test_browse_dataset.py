"""tools/analysis_tools/browse_dataset.py on the synthetic VIPSeg-format tree."""
import importlib.util
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest

from mmvps.datasets import generate_synthetic_vps

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'browse_dataset.py'

CONFIG = """
default_scope = 'mmvps'
frame_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadVideoPanopticAnnotations'),
    dict(type='mmdet.Resize', scale=(40, 24), keep_ratio=False),
]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type='RepeatDataset', times=2,
        dataset=dict(
            type='SyntheticVPSDataset', data_root={root!r}, ann_file='train.txt',
            pipeline=[
                dict(type='mmdet.UniformRefFrameSample', num_ref_imgs=1, frame_range=2),
                dict(type='TransformBroadcaster', share_random_params=True,
                     transforms=frame_pipeline),
                dict(type='PackVideoPanopticInputs'),
            ])))
val_dataloader = dict(
    batch_size=1,
    dataset=dict(type='SyntheticVPSDataset', data_root={root!r}, ann_file='val.txt',
                 test_mode=True, pipeline=[dict(type='PackVideoPanopticInputs')]))
visualizer = dict(type='VideoPanopticVisualizer', alpha=0.7, with_labels=False, with_titles=False)
"""


@pytest.fixture(scope='module')
def browse_dataset():
    spec = importlib.util.spec_from_file_location('browse_dataset', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def synthetic_config(tmp_path):
    root = tmp_path / 'synthetic'
    generate_synthetic_vps(str(root), num_train_videos=2, num_val_videos=1, num_frames=3,
                           height=32, width=48)
    config = tmp_path / 'browse_cfg.py'
    config.write_text(CONFIG.format(root=str(root)))
    return config, root


def test_browse_dataset_writes_frames_with_gt(browse_dataset, synthetic_config, tmp_path):
    config, root = synthetic_config
    out = tmp_path / 'vis'
    drawn = browse_dataset.browse(str(config), str(out), show=False, split='train', max_videos=1)
    video = (root / 'train.txt').read_text().split()[0]
    frames = sorted(p.stem for p in (root / 'imgs' / video).glob('*.jpg'))
    assert drawn == 3
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob('*.jpg')) == [
        f'{video}/{stem}.jpg' for stem in frames]
    for stem in frames:  # GT only, at the original frame size, with the overlay drawn
        drawing = mmcv.imread(str(out / video / f'{stem}.jpg'))
        original = mmcv.imread(str(root / 'imgs' / video / f'{stem}.jpg'))
        assert drawing.shape == original.shape == (32, 48, 3)
        assert np.abs(drawing.astype(int) - original).mean() > 10


def test_browse_dataset_needs_the_annotation_loader(browse_dataset, synthetic_config, tmp_path):
    config, _ = synthetic_config
    with pytest.raises(ValueError, match='has no LoadVideoPanopticAnnotations'):
        browse_dataset.browse(str(config), str(tmp_path / 'vis'), show=False, split='val')
    with pytest.raises(ValueError, match='nothing to do'):
        browse_dataset.browse(str(config), None, show=False)


def test_browse_dataset_loading_pipeline(browse_dataset):
    pipeline = [
        dict(type='mmdet.UniformRefFrameSample'),
        dict(type='TransformBroadcaster', transforms=[
            dict(type='LoadImageFromFile'), dict(type='mmdet.RandomFlip', prob=0.5),
            dict(type='LoadVideoPanopticAnnotations'), dict(type='mmdet.Resize', scale=(8, 8))
        ]),
        dict(type='PackVideoPanopticInputs'),
    ]
    kept = browse_dataset.loading_pipeline(pipeline, 'cfg.py')
    assert [t['type'] for t in kept] == ['LoadImageFromFile', 'LoadVideoPanopticAnnotations']
    assert kept[-1]['with_panoptic'] is True
    assert 'with_panoptic' not in pipeline[1]['transforms'][2]  # the config is not modified


def test_browse_dataset_cli(synthetic_config, tmp_path):
    import subprocess
    config, root = synthetic_config
    out = tmp_path / 'cli'
    result = subprocess.run(
        [sys.executable, str(TOOL), str(config), '--output-dir', str(out), '--not-show',
         '--max-videos', '2'], capture_output=True, text=True,
        env={'PYTHONPATH': str(TOOL.parents[2]), 'PATH': '/usr/bin:/bin', 'MPLBACKEND': 'Agg'})
    assert result.returncode == 0, result.stderr
    assert '6 frames of 2 of 2 train videos' in result.stdout
    assert len(list(out.rglob('*.jpg'))) == 6

"""Every Clip-PanoFCN video config under configs/clip_panofcn/ builds its model with its dataset's
classes and consistent clip lengths; the documented --cfg-options switch the test clip length."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmvps.datasets import generate_synthetic_vps
from mmvps.registry import DATASETS, MODELS
from mmvps.utils import register_all_modules

register_all_modules()
CONFIG_DIR = Path(__file__).resolve().parents[3] / 'configs' / 'clip_panofcn'
CONFIGS = sorted(CONFIG_DIR.glob('clip_panofcn_*.py'))
EXPECTED = {  # config -> (train clip length, test clip length)
    'clip_panofcn_r18_synthetic': (2, 4),
    'clip_panofcn_r50_4xb2-120k_vipseg-720p': (3, 8),
    'clip_panofcn_r50_4xb2-120k_vipseg-720p_test-clip3': (3, 3),
}


def test_configs_exist():
    assert {path.stem for path in CONFIGS} == set(EXPECTED)
    assert (CONFIG_DIR / 'README.md').is_file()


def clip_lengths(cfg):
    train = cfg.train_dataloader.dataset.pipeline[0]
    test = cfg.test_dataloader.dataset.pipeline[0]
    assert train.type == test.type == 'VideoClipSample'
    assert test.test_mode and test.get('clip_overlap', 0) == 0  # non-overlapping test clips
    assert cfg.test_dataloader.sampler.type == 'VideoBalancedTestSampler'
    assert cfg.test_dataloader.sampler.clip_length == test.clip_length
    assert cfg.test_dataloader.sampler.get('clip_overlap', 0) == 0
    return train.clip_length, test.clip_length


@pytest.mark.parametrize('path', CONFIGS, ids=[path.stem for path in CONFIGS])
def test_config_builds_its_model(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmvps'
    model = MODELS.build(cfg.model)  # no init_weights: nothing is downloaded
    assert type(model).__name__ == 'ClipPanopticFCN'
    metainfo = DATASETS.get(cfg.train_dataloader.dataset.type).METAINFO
    assert model.panoptic_head.num_things == len(metainfo['thing_classes'])
    assert model.panoptic_head.num_stuff == len(metainfo['stuff_classes'])
    assert model.merger.num_classes == len(metainfo['classes'])
    assert model.clip_feature_fusion is None  # USE_CLIPFUSE: False, as released
    assert not model.merger.overwrite_things
    assert (model.tracker.memory_weight, model.tracker.cost_limit) == (0.8, 0.3)
    assert model.fusion.similarity_threshold == 0.9
    assert clip_lengths(cfg) == EXPECTED[path.stem]


@pytest.mark.parametrize('length', [1, 2, 3, 5, 8])
def test_cfg_options_select_the_test_clip_length(tmp_path, length):
    """The README's command on the CPU default: every frame of a 12-frame video lies in exactly
    one clip's key frames, clips of ``length`` frames (the last ends at the last frame)."""
    root = tmp_path / 'synth'
    if not root.exists():
        generate_synthetic_vps(str(root), num_train_videos=0, num_val_videos=1, num_frames=12,
                               height=48, width=80, seed=1)
    cfg = Config.fromfile(CONFIG_DIR / 'clip_panofcn_r18_synthetic.py')
    cfg.merge_from_dict({
        'test_dataloader.sampler.clip_length': length,
        'test_dataloader.dataset.pipeline.0.clip_length': length,
        'test_dataloader.dataset.data_root': str(root),
    })
    assert clip_lengths(cfg)[1] == length
    loader = Runner.build_dataloader(cfg.test_dataloader)
    key_frames = []
    for index in loader.sampler:
        sample = loader.dataset[index]['data_samples']
        frames = [frame.frame_id for frame in sample]
        assert len(frames) == length
        key_frames += [frames[i] for i in sample.key_frames_inds]
    assert key_frames == list(range(12))

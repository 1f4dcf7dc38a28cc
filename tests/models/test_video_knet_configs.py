"""Every config under configs/video_knet/ builds its Video K-Net, with the class numbers of its
dataset."""
from pathlib import Path

import pytest
from mmengine.config import Config

from mmvps.registry import DATASETS, MODELS
from mmvps.utils import register_all_modules

register_all_modules()
CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'video_knet'
CONFIGS = sorted(CONFIG_DIR.glob('*.py'))


def test_configs_exist():
    names = {path.name for path in CONFIGS}
    assert 'video_knet_r18_synthetic.py' in names
    assert len(names) >= 5


@pytest.mark.parametrize('path', CONFIGS, ids=[path.stem for path in CONFIGS])
def test_config_builds_its_model(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmvps'
    model = MODELS.build(cfg.model)  # no init_weights: nothing is downloaded
    assert type(model).__name__ == 'VideoKNet'

    dataset_cfg = cfg.train_dataloader.dataset
    while 'dataset' in dataset_cfg:  # dataset wrappers (RepeatDataset)
        dataset_cfg = dataset_cfg.dataset
    metainfo = DATASETS.get(dataset_cfg.type).METAINFO
    head = model.detector.kernel_iter_head
    assert head.num_thing_classes == len(metainfo['thing_classes'])
    assert head.num_stuff_classes == len(metainfo['stuff_classes'])
    if not metainfo['thing_classes']:  # VSS mode (VSPW, synthetic VSS): stuff kernels only
        assert head.num_proposals == 0 and head.test_cfg['merge_mode'] == 'semantic'
        assert model.tracker is None and model.track_head is None
        assert model.kernel_linking is None and model.with_kernel_fusion
        return
    assert model.track_head.in_channels == head.mask_head[-1].in_channels
    # the official code fuses kernels in its Swin configs only (the paper: all but
    # Cityscapes-VPS); the CPU default keeps mmvps's fusion
    assert model.with_kernel_fusion == ('swin' in path.stem
                                        or path.stem == 'video_knet_r18_synthetic')
    assert model.kernel_linking is not None

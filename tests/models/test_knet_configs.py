"""Every K-Net config builds its model (pretrained weights are referenced, never loaded)."""
from pathlib import Path

import pytest
from mmengine.config import Config

from mmvps.registry import MODELS
from mmvps.utils import register_all_modules

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO_ROOT / 'configs' / 'knet').glob('*.py'))


def test_there_are_knet_configs():
    names = {path.name for path in CONFIGS}
    for backbone in ('r50', 'swin-b'):
        for data in ('coco-panoptic', 'cityscapes-panoptic'):
            assert any(backbone in name and data in name for name in names), (backbone, data)


@pytest.mark.parametrize('path', CONFIGS + [REPO_ROOT / 'configs/_base_/models/knet_r18_tiny.py'],
                         ids=lambda path: path.name)
def test_config_builds_model(path):
    register_all_modules()
    cfg = Config.fromfile(str(path))
    model = MODELS.build(cfg.model)
    head = model.kernel_iter_head
    assert head.num_stages == 3 and len(head.assigners) == 3
    assert model.kernel_head.num_proposals == head.num_proposals
    metainfo = cfg.get('metainfo')
    if metainfo is not None:
        assert model.num_thing_classes == len(metainfo['thing_classes'])
        assert model.num_classes == len(metainfo['classes'])
        assert tuple(metainfo['classes'][:model.num_thing_classes]) == tuple(
            metainfo['thing_classes'])  # thing classes first (docs/conventions.md §1)
    backbone_init = cfg.model.backbone.get('init_cfg')
    if 'tiny' not in path.name:
        assert backbone_init['type'] == 'Pretrained'

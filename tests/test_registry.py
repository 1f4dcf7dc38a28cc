"""mmvps registries: children of mmdet's, reachable from mmvps and from other projects."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mmdet import registry as mmdet_registry
from mmengine import DefaultScope

from mmvps import registry as mmvps_registry
from mmvps.utils import register_all_modules

REPO_ROOT = Path(__file__).resolve().parents[1]

REGISTRY_NAMES = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS',
    'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR', 'TASK_UTILS',
    'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS'
]


@pytest.mark.parametrize('name', REGISTRY_NAMES)
def test_registry_is_child_of_mmdet(name):
    registry = getattr(mmvps_registry, name)
    parent = getattr(mmdet_registry, name)
    assert registry.scope == 'mmvps'
    assert registry.parent is parent
    assert parent._children['mmvps'] is registry
    # mmdet's own location is imported first, then the mmvps package that registers here
    assert registry._locations[0] == parent._locations[0]
    assert registry._locations[-1].startswith('mmvps.')


def run_fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing of mmdet/mmvps imported beforehand)."""
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_default_scope_mmvps_builds_mmdet_modules_in_fresh_process():
    out = run_fresh("""
        from mmengine import DefaultScope
        from mmvps.registry import MODELS, TASK_UTILS, TRANSFORMS
        DefaultScope.get_instance('fresh', scope_name='mmvps')
        print(type(MODELS.build(dict(type='ResNet', depth=18))).__module__)
        print(type(MODELS.build(dict(type='DiceLoss'))).__module__)
        assigner = TASK_UTILS.build(dict(type='HungarianAssigner', match_costs=[
            dict(type='ClassificationCost', weight=1.0), dict(type='DiceCost', weight=1.0)]))
        print(type(assigner).__module__)
        print(type(TRANSFORMS.build(dict(type='PackTrackInputs'))).__module__)
        print(type(TRANSFORMS.build(dict(type='LoadImageFromFile'))).__module__)
        """)
    assert out.split() == [
        'mmdet.models.backbones.resnet', 'mmdet.models.losses.dice_loss',
        'mmdet.models.task_modules.assigners.hungarian_assigner',
        'mmdet.datasets.transforms.formatting',
        'mmvps.datasets.transforms.loading'  # mmcv's, with errors that name the image file
    ]


def test_other_project_builds_mmvps_module_with_custom_imports(tmp_path):
    """A config of another project (default scope mmdet) names mmvps modules as ``mmvps.X``."""
    config = tmp_path / 'other_project.py'
    config.write_text(textwrap.dedent("""
        default_scope = 'mmdet'
        custom_imports = dict(imports=['mmvps'], allow_failed_imports=False)
        pack = dict(type='mmvps.PackVideoPanopticInputs')
        model = dict(type='ResNet', depth=18)
        """))
    out = run_fresh(f"""
        import sys
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        cfg = Config.fromfile({str(config)!r})
        assert 'mmvps' in sys.modules  # imported by custom_imports
        init_default_scope(cfg.default_scope)
        from mmdet.registry import MODELS, TRANSFORMS
        print(type(TRANSFORMS.build(cfg.pack)).__module__)
        print(type(MODELS.build(cfg.model)).__module__)
        """)
    assert out.split() == ['mmvps.datasets.transforms.formatting', 'mmdet.models.backbones.resnet']


def test_unknown_scoped_type_fails():
    DefaultScope.get_instance('test_unknown_scoped_type', scope_name='mmdet')
    with pytest.raises(KeyError, match='NoSuchModule'):
        mmdet_registry.MODELS.build(dict(type='mmvps.NoSuchModule'))


def test_register_all_modules_sets_scope_and_registers():
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'mmvps'
    assert 'PackVideoPanopticInputs' in mmvps_registry.TRANSFORMS.module_dict
    assert 'VideoPanopticMetric' in mmvps_registry.METRICS.module_dict
    assert 'VIPSegDataset' in mmvps_registry.DATASETS.module_dict
    # mmdet's modules are registered too (in mmdet's nodes, found by parent lookup)
    assert 'Mask2Former' in mmdet_registry.MODELS.module_dict
    assert mmvps_registry.MODELS.get('Mask2Former') is mmdet_registry.MODELS.get('Mask2Former')


def test_metric_core_and_formats_import_without_torch_or_mmdet():
    """The offline scorer's imports stay numpy + PIL: the packages on its path export lazily."""
    out = run_fresh("""
        import sys
        import mmvps, mmvps.evaluation.functional, mmvps.datasets.formats, mmvps.datasets.classes
        print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'mmdet', 'mmengine',
                                                                 'mmcv', 'cv2'}))
        from mmvps.evaluation import VideoPanopticMetric  # lazy export, now imported
        from mmvps.datasets import VIPSegDataset
        print(VideoPanopticMetric.__module__, VIPSegDataset.__module__, 'torch' in sys.modules)
        """)
    assert out.split('\n')[:2] == [
        '[]', 'mmvps.evaluation.metrics.video_panoptic_metric mmvps.datasets.vipseg_dataset True']


def test_registry_locations_reach_every_registered_module():
    """Importing the mmvps nodes' ``locations`` registers everything that importing every
    module of the package registers, so lazy package exports lose nothing."""
    out = run_fresh("""
        import importlib, json, pkgutil
        import mmvps
        from mmengine.registry import Registry
        from mmvps import registry

        def snapshot():
            return {name: sorted(node.module_dict) for name, node in vars(registry).items()
                    if isinstance(node, Registry)}

        for node in vars(registry).values():
            if isinstance(node, Registry):
                node.import_from_location()
        through_locations = snapshot()
        for info in pkgutil.walk_packages(mmvps.__path__, 'mmvps.'):
            importlib.import_module(info.name)
        print(json.dumps([through_locations, snapshot()]))
        """)
    import json
    through_locations, everything = json.loads(out)
    assert through_locations == everything
    assert 'VideoKNet' in everything['MODELS'] and 'VIPSegDataset' in everything['DATASETS']
    assert sum(map(len, everything.values())) >= 30


def test_registry_import_allow_lists_checkpoint_globals(tmp_path):
    """``mmvps.registry`` (imported by mmengine for every mmvps-scope build) makes mmengine's
    checkpoint globals loadable with torch's default ``weights_only=True``; without it they fail."""
    checkpoint = tmp_path / 'message_hub.pth'
    run_fresh(f"""
        import numpy as np, torch
        from mmengine.logging import HistoryBuffer
        buffer = HistoryBuffer()
        buffer.update(np.float64(0.5))
        torch.save(dict(log_scalars=dict(loss=buffer), eta=np.float64(3.0)), {str(checkpoint)!r})
        """)
    load = f"""
        import torch
        state = torch.load({str(checkpoint)!r})
        print(state['log_scalars']['loss'].mean(), state['eta'])
        """
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(load)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and 'weights_only' in proc.stderr
    assert run_fresh('import mmvps.registry\n' + textwrap.dedent(load)).split() == ['0.5', '3.0']

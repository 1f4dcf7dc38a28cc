"""ClassCheckHook: model, dataset and checkpoint must agree on the classes."""
from types import SimpleNamespace

import pytest
from torch import nn

from mmvps.datasets.synthetic import synthetic_metainfo
from mmvps.datasets.vipseg_dataset import VIPSegDataset
from mmvps.engine.hooks import ClassCheckHook
from mmvps.engine.hooks.class_check_hook import (check_checkpoint_classes, check_model_classes,
                                                 model_class_counts)
from mmvps.registry import HOOKS

SYNTHETIC = synthetic_metainfo()  # 3 things + 3 stuff
VIPSEG = VIPSegDataset.METAINFO  # 58 things + 66 stuff


class Head(nn.Module):

    def __init__(self, things, stuff):
        super().__init__()
        self.num_thing_classes, self.num_stuff_classes = things, stuff
        self.num_classes = things + stuff


class Model(nn.Module):
    """Like Video K-Net: the class numbers sit on an inner module."""

    def __init__(self, things=3, stuff=3):
        super().__init__()
        self.detector = nn.Sequential(nn.Conv2d(3, 3, 1), Head(things, stuff))


def loader(metainfo, name='SyntheticVPSDataset'):
    dataset = type(name, (), {'metainfo': metainfo})()
    return SimpleNamespace(dataset=dataset)


def runner(model=None, metainfo=SYNTHETIC, resume=False, load_from='work/iter_10.pth'):
    return SimpleNamespace(model=model or Model(), train_dataloader=loader(metainfo),
                           val_dataloader=loader(metainfo), test_dataloader=loader(metainfo),
                           _resume=resume, _load_from=load_from)


def checkpoint(metainfo):
    return dict(meta=dict(dataset_meta=dict(metainfo)), state_dict={})


def test_model_class_counts():
    assert model_class_counts(Model(58, 66)) == (58, 66, 124)
    semantic = nn.Sequential(nn.Conv2d(1, 1, 1))
    semantic[0].num_classes = 124
    assert model_class_counts(semantic) == (None, None, 124)
    assert model_class_counts(nn.Conv2d(1, 1, 1)) is None


def test_model_vs_dataset_classes():
    check_model_classes(Model(3, 3), SYNTHETIC, 'test dataset')  # agree
    with pytest.raises(ValueError) as error:
        check_model_classes(Model(3, 3), VIPSEG, 'test dataset (VIPSegDataset)')
    assert str(error.value).startswith(
        'class mismatch: the model (Model) has 3 thing + 3 stuff classes, the test dataset '
        '(VIPSegDataset) has 58 thing + 66 stuff classes ([')
    # same total, other split into things and stuff
    with pytest.raises(ValueError, match='has 4 thing \\+ 2 stuff classes, the train dataset '
                       'has 3 thing \\+ 3 stuff'):
        check_model_classes(Model(4, 2), SYNTHETIC, 'train dataset')


def test_checkpoint_vs_dataset_message():
    assert check_checkpoint_classes(SYNTHETIC['classes'], SYNTHETIC['classes'], 'a.pth',
                                    'x') is None
    message = check_checkpoint_classes(SYNTHETIC['classes'], VIPSEG['classes'], 'a.pth',
                                       'test dataset (VIPSegDataset)')
    assert message.startswith('class mismatch: checkpoint a.pth was trained on [square, disc, '
                              'triangle, sky, ground, wall], the test dataset (VIPSegDataset) '
                              'has [door, ladder, window, ')
    assert message.endswith('(124 in all)] (6 classes vs 124)')
    renamed = list(SYNTHETIC['classes'])
    renamed[4] = 'grass'
    assert check_checkpoint_classes(SYNTHETIC['classes'], renamed, 'a.pth', 'val dataset') \
        .endswith("(same number (6), but label 4 is 'ground' in the checkpoint and 'grass' in "
                  'the val dataset)')


def test_testing_a_checkpoint_of_other_classes_stops():
    """The issue's case: a checkpoint trained on 6 classes tested against VIPSeg (124)."""
    hook = HOOKS.build(dict(type='ClassCheckHook'))
    assert isinstance(hook, ClassCheckHook)
    run = runner(model=Model(58, 66), metainfo=VIPSEG)
    hook.after_load_checkpoint(run, checkpoint(SYNTHETIC))
    with pytest.raises(ValueError, match='checkpoint work/iter_10.pth was trained on'):
        hook.before_test(run)
    # the matching dataset passes; so does a checkpoint without dataset_meta
    hook.after_load_checkpoint(run, checkpoint(VIPSEG))
    hook.before_test(run)
    hook.after_load_checkpoint(run, dict(meta={}, state_dict={}))
    hook.before_test(runner(model=Model(58, 66), metainfo=VIPSEG))


def test_model_mismatch_stops_testing_without_checkpoint_meta():
    hook = ClassCheckHook()
    with pytest.raises(ValueError, match='the model \\(Model\\) has 3 thing \\+ 3 stuff'):
        hook.before_test(runner(model=Model(3, 3), metainfo=VIPSEG))


def test_fine_tuning_warns_resuming_stops():
    run = runner(model=Model(58, 66), metainfo=VIPSEG)
    hook = ClassCheckHook()
    hook.after_load_checkpoint(run, checkpoint(SYNTHETIC))
    hook.before_train(run)  # load_from a checkpoint of other classes: fine-tuning
    hook.before_val(run)  # during training the model carries the train classes
    resumed = ClassCheckHook()
    resumed.after_load_checkpoint(run, checkpoint(SYNTHETIC))
    with pytest.raises(ValueError, match='class mismatch: checkpoint'):
        resumed.before_train(runner(model=Model(58, 66), metainfo=VIPSEG, resume=True))


def test_standalone_validation_checks_the_checkpoint():
    run = runner(model=Model(58, 66), metainfo=VIPSEG)
    hook = ClassCheckHook()
    hook.after_load_checkpoint(run, checkpoint(SYNTHETIC))
    with pytest.raises(ValueError, match='the val dataset \\(SyntheticVPSDataset\\)'):
        hook.before_val(run)


def test_default_runtime_has_the_hook():
    from pathlib import Path

    from mmengine.config import Config
    root = Path(__file__).resolve().parents[2]
    cfg = Config.fromfile(str(root / 'configs/video_knet/video_knet_r18_synthetic.py'))
    assert cfg.default_hooks.class_check == dict(type='ClassCheckHook')


def test_runner_stops_testing_a_checkpoint_of_another_class_order(tmp_path):
    """End to end with mmengine's Runner: the checkpoint of a short training stores the class
    list in ``meta['dataset_meta']``; testing it on the same videos with the classes in another
    order (same numbers, so the model check passes) stops before the first batch."""
    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner
    from tiny_model import make_tiny_dataset, write_tiny_config

    metainfo = make_tiny_dataset(tmp_path / 'data')
    cfg = Config.fromfile(write_tiny_config(tmp_path / 'tiny.py', tmp_path / 'data', metainfo))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.update(max_iters=3, val_interval=100)
    Runner.from_cfg(cfg).train()
    checkpoint = torch.load(tmp_path / 'work' / 'iter_3.pth', map_location='cpu')
    assert checkpoint['meta']['dataset_meta']['classes'] == SYNTHETIC['classes']

    reordered = ('disc', 'square', 'triangle', 'sky', 'ground', 'wall')
    cfg.test_dataloader.dataset.metainfo = dict(classes=reordered)
    cfg.load_from = str(tmp_path / 'work' / 'iter_3.pth')
    cfg.experiment_name = 'test_reordered'
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=f"class mismatch: checkpoint {cfg.load_from} was trained "
                       "on \\[square, disc, triangle, sky, ground, wall\\], the test dataset "
                       "\\(SyntheticVPSDataset\\) has \\[disc, square, .*label 0 is 'square' in "
                       "the checkpoint and 'disc' in the test dataset"):
        runner.test()

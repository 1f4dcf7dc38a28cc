"""Every dataset config under configs/_base_/datasets loads its tiny fixture tree: the train,
val and test dataloaders build and yield a packed batch, and the evaluator builds."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from fixture_trees import (make_cityscapes_vps, make_step, make_vipseg_720p, make_vipseg_raw,
                           make_viper_vps, make_vspw, maps)
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmvps.datasets import generate_synthetic_vps, generate_synthetic_vss
from mmvps.registry import METRICS

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')


def panoptic_video(cats, things, num_frames=3, shape=(6, 8)):
    """Frames with stuff ``cats[0]`` / ``cats[1]`` and a moving thing of class ``things[0]``."""
    frames = []
    for t in range(num_frames):
        cat, inst = maps(np.full(shape, cats[0]))
        cat[shape[0] // 2:] = cats[1]
        cat[1:4, t:t + 3], inst[1:4, t:t + 3] = things[0], 1
        frames.append((cat, inst))
    return frames


def vipseg_splits():
    frames = panoptic_video((0, 28), (60, ))
    return dict(train={'0_a': {f'{166 + 3 * t:08d}': f for t, f in enumerate(frames)}},
                val={'1_b': {f'{10 + 3 * t:08d}': f for t, f in enumerate(frames)}})


def step_video(cats, things):
    return {f'{t:06d}': f for t, f in enumerate(panoptic_video(cats, things))}


def make_tree(name, root):
    if name == 'vipseg':
        make_vipseg_raw(root, vipseg_splits())
    elif name == 'vipseg_720p':
        make_vipseg_720p(root, vipseg_splits())
    elif name == 'synthetic_vps':
        generate_synthetic_vps(root, 1, 1, num_frames=3, height=32, width=48, seed=1)
    elif name == 'synthetic_vss':
        generate_synthetic_vss(root, 1, 1, num_frames=3, height=32, width=48, seed=1)
    elif name == 'vspw':
        frames = {f'{166 + t:08d}': f for t, f in enumerate(panoptic_video((0, 28), (60, )))}
        make_vspw(root, dict(train={'0_a': frames}, val={'1_b': frames}))
    elif name == 'kitti_step':
        make_step(root, 'train', {'0000': step_video((0, 10), (13, ))})
        make_step(root, 'val', {'0002': step_video((0, 10), (11, ))})
    elif name == 'motchallenge_step':
        make_step(root, 'train', {'0009': step_video((0, 3), (4, )),
                                  '0002': step_video((1, 3), (4, ))}, img_suffix='.jpg')
    elif name == 'cityscapes_vps':
        gt = panoptic_video((0, 10), (13, ), num_frames=6)
        for split in ('train', 'val'):
            make_cityscapes_vps(root, split, {1: dict(city='aachen', seq=0, last_frame=29, gt=gt)})
    elif name == 'viper_vps':
        frames = {f'{10 * t:05d}': f for t, f in enumerate(panoptic_video((0, 1), (19, )))}
        for split in ('train_day', 'val_day'):
            make_viper_vps(root, split, {'001': frames})
    else:
        raise KeyError(name)


CONFIGS = ['vipseg', 'vipseg_720p', 'synthetic_vps', 'synthetic_vss', 'vspw', 'kitti_step', 'motchallenge_step',
           'cityscapes_vps', 'viper_vps']


# image datasets of the pretraining configs (mmdet's CocoPanopticDataset, checked below)
IMAGE_CONFIGS = ['cityscapes_step_panoptic']


def test_every_config_has_a_fixture():
    assert sorted(n[:-3] for n in os.listdir(CONFIG_DIR) if n.endswith('.py')) == \
        sorted(CONFIGS + IMAGE_CONFIGS)


def test_cityscapes_step_pretraining_classes_are_kitti_step_labels():
    """The pretraining weights load into the KITTI-STEP models label for label: the same
    classes in the same order (things first), the same thing classes."""
    from mmvps.datasets import KITTISTEPDataset
    cfg = Config.fromfile(os.path.join(CONFIG_DIR, 'cityscapes_step_panoptic.py'))
    step = KITTISTEPDataset.METAINFO
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        metainfo = loader.dataset.metainfo
        assert tuple(metainfo.classes) == tuple(step['classes'])
        assert tuple(metainfo.thing_classes) == tuple(step['thing_classes'])
        assert len(metainfo.palette) == len(metainfo.classes)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_loads_its_tree(name, tmp_path):
    root = str(tmp_path / name) + '/'
    make_tree(name, root)
    cfg = Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))
    with DefaultScope.overwrite_default_scope('mmvps'):
        METRICS.build(cfg.val_evaluator)
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            loader_cfg = cfg[key]
            loader_cfg.dataset.data_root = root
            loader_cfg.update(num_workers=0, persistent_workers=False)
            loader = Runner.build_dataloader(loader_cfg, seed=0)
            batch = next(iter(loader))
            sample = batch['data_samples'][0]
            frames = sample.video_data_samples
            inputs = batch['inputs'][0]
            assert inputs.dtype == torch.uint8 and inputs.shape[0] == len(frames)
            if key == 'train_dataloader':  # a key frame and a reference frame
                assert len(frames) == 2 and len(sample.key_frames_inds) == 1
                assert sorted(sample.key_frames_inds + sample.ref_frames_inds) == [0, 1]
                assert all('gt_sem_seg' in f and 'instances_ids' in f.gt_instances for f in frames)
                assert frames[0].video_name == frames[1].video_name
            else:  # the first frame of the first video, ground truth at the original size
                assert len(frames) == 1 and frames[0].frame_id == 0
                frame = frames[0]
                pan = frame.gt_panoptic_seg.sem_seg
                assert tuple(pan.shape[1:]) == tuple(frame.ori_shape)
                # Cityscapes-VPS: frame 0 of img_all lies before the first annotated frame
                assert frame.is_annotated == (name != 'cityscapes_vps')
                has_tracks = name not in ('vspw', 'synthetic_vss', 'cityscapes_vps')
                assert bool((pan >= 1000).any()) == has_tracks
                assert bool((pan == 255).all()) == (name == 'cityscapes_vps')

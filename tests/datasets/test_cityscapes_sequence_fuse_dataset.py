"""CityscapesSequenceFuseDataset: Cityscapes panoptic images with their raw neighbour frames
(VPSNet's image-level Fuse stage)."""
import copy
import os
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
import torch
from fixture_trees import make_cityscapes_panoptic, maps
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from PIL import Image

from mmvps.datasets.formats import FormatError
from mmvps.registry import DATA_SAMPLERS, DATASETS, MODELS
from mmvps.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'vpsnet' / 'vpsnet-fuse_r50_fpn_8xb1-24e_cityscapes.py'
# labelIds: 7 road, 23 sky (stuff), 24 person, 26 car (things); -1 void
GT = {
    'aachen_000003_000019': maps([[7, 7, 7, 23, 23, 23, 23, 23]] * 3 +
                                 [[24, 24, 7, 7, 26, 26, 26, -1]] * 3,
                                 [[0] * 8] * 3 + [[1, 1, 0, 0, 2, 2, 2, 0]] * 3),
    'bochum_000010_000019': maps([[23] * 8] * 3 + [[7, 7, 7, 7, 26, 26, 7, 7]] * 3,
                                 [[0] * 8] * 3 + [[0, 0, 0, 0, 5, 5, 0, 0]] * 3),
}
PIPELINE = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=1, filter_key_img=True),
    dict(type='TransformBroadcaster', share_random_params=True, transforms=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadVideoPanopticAnnotations'),
        dict(type='FilterTrackAnnotations')]),
    dict(type='PackVideoPanopticInputs')
]


@pytest.fixture
def root(tmp_path):
    make_cityscapes_panoptic(str(tmp_path), 'train', GT)
    return tmp_path


def build(root, **kwargs):
    register_all_modules()
    init_default_scope('mmvps')
    return DATASETS.build(dict(
        type='CityscapesSequenceFuseDataset', data_root=str(root),
        ann_file='gtFine/cityscapes_panoptic_train.json',
        data_prefix=dict(img='leftImg8bit/train/', seg='gtFine/cityscapes_panoptic_train/',
                         ref='leftImg8bit_sequence/train/'), **kwargs))


def frame_number(path):
    return int(osp.basename(path).split('_')[2])


def test_images_with_their_neighbours_by_frame_number(root):
    dataset = build(root, pipeline=[])
    assert len(dataset) == 2
    assert dataset.metainfo['thing_classes'][:3] == ('person', 'rider', 'car')
    assert dataset.label2cat[:3] == [24, 25, 26] and dataset.label2cat[8] == 7  # road
    for video, image_id in zip((dataset.get_data_info(i) for i in range(2)), sorted(GT)):
        city = image_id.split('_')[0]
        frames = video['images']
        assert video['video_name'] == image_id
        assert [frame_number(f['img_path']) for f in frames] == [18, 19, 20]
        assert [f['is_annotated'] for f in frames] == [False, True, False]
        assert frames[1]['img_path'] == osp.join(str(root), 'leftImg8bit', 'train', city,
                                                 f'{image_id}_leftImg8bit.png')
        assert frames[1]['seg_map_path'].endswith(f'{image_id}_gtFine_panoptic.png')
        assert frames[1]['img_id'] == image_id
        for ref in (frames[0], frames[2]):
            assert ref['img_path'].startswith(osp.join(str(root), 'leftImg8bit_sequence',
                                                       'train', city, image_id[:-6]))
            assert ref['seg_map_path'] is None and ref['segments_info'] == []
            assert set(ref) == set(frames[1])
    previous = build(root, pipeline=[], ref_offsets=(-1, ), test_mode=True)
    assert [frame_number(f['img_path']) for f in previous.get_data_info(0)['images']] == [18, 19]
    with pytest.raises(ValueError, match='ref_offsets'):
        build(root, ref_offsets=(0, 1))


def test_training_samples_pair_the_annotated_image_with_a_neighbour(root):
    dataset = build(root, pipeline=PIPELINE)
    seen = set()
    for draw in range(12):
        item = dataset[draw % 2]
        sample = item['data_samples']
        key, ref = sample[sample.key_frames_inds[0]], sample[sample.ref_frames_inds[0]]
        assert key.metainfo['is_annotated'] and not ref.metainfo['is_annotated']
        offset = frame_number(ref.img_path) - frame_number(key.img_path)
        assert offset in (-1, 1)
        seen.add(offset)
        # the reference is the neighbour's picture (the fixture seeds each with its frame)
        written = np.asarray(Image.open(ref.img_path))[..., ::-1]  # BGR as loaded
        loaded = item['inputs'][sample.ref_frames_inds[0]].permute(1, 2, 0).numpy()
        assert np.array_equal(loaded, written)
        # ground truth on the key frame only
        image_id = key.metainfo['video_name']
        cat, inst = GT[image_id]
        things = sorted({(int(c), int(i)) for c, i in zip(cat[inst > 0], inst[inst > 0])})
        assert len(key.gt_instances) == len(things)
        sem = key.gt_sem_seg.sem_seg[0].numpy()
        assert (sem == 255).sum() == (cat == -1).sum()
        assert (ref.gt_sem_seg.sem_seg == 255).all() and len(ref.gt_instances) == 0
    assert seen == {-1, 1}


def test_missing_neighbour_names_the_file(root):
    missing = root / 'leftImg8bit_sequence' / 'train' / 'bochum' / \
        'bochum_000010_000020_leftImg8bit.png'
    os.remove(missing)
    with pytest.raises(FormatError, match=str(missing)):
        build(root)
    build(root, ref_offsets=(-1, ))  # the other neighbour is there


def test_config_datasets_load_the_tree(root):
    """The config's train set (RepeatDataset x8 of the images) and its val set (previous raw
    frame as the reference, online clips of one frame) on the fixture tree."""
    register_all_modules()
    init_default_scope('mmvps')
    make_cityscapes_panoptic(str(root), 'val', GT, offsets=(-1, ))
    cfg = Config.fromfile(str(CONFIG))
    train = copy.deepcopy(cfg.train_dataloader.dataset)
    train.dataset.data_root = str(root)
    assert train.type == 'RepeatDataset' and train.times == 8
    assert cfg.train_cfg.max_epochs == 24
    assert cfg.param_scheduler[1].milestones == [16, 22]
    dataset = DATASETS.build(train)
    assert len(dataset) == 16
    sample = dataset[3]['data_samples']
    assert len(sample) == 2 and len(sample.key_frames_inds) == 1
    val = copy.deepcopy(cfg.val_dataloader)
    val.dataset.data_root = str(root)
    val_set = DATASETS.build(val.dataset)
    indices = list(DATA_SAMPLERS.build(dict(val.sampler, dataset=val_set)))
    assert indices == [(0, 0), (0, 1), (1, 0), (1, 1)]
    frame = val_set[(0, 1)]['data_samples'][0]
    assert frame.metainfo['is_annotated'] and frame.metainfo['frame_name'].endswith('019_'
                                                                                  'leftImg8bit')


def test_vpsnet_fuse_trains_on_the_samples(root):
    """A small Fuse model takes the key + neighbour samples (losses on the key frame)."""
    register_all_modules()
    init_default_scope('mmvps')
    cfg = Config.fromfile(str(REPO / 'configs' / 'vpsnet' / 'vpsnet-fuse_r18_synthetic.py'))
    model_cfg = cfg.model
    model_cfg.roi_head.bbox_head.num_classes = model_cfg.roi_head.mask_head.num_classes = 8
    model_cfg.semantic_head.num_classes = 19
    model_cfg.panoptic_head.update(num_things=8, num_stuff=11)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    dataset = build(root, pipeline=PIPELINE)
    data = model.data_preprocessor(pseudo_collate([dataset[0], dataset[1]]), True)
    assert data['inputs'].shape[:3] == (2, 2, 3)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_segm', 'loss_pano', 'loss_mask'} <= set(losses)
    assert all(torch.isfinite(v).all() for k, v in losses.items() if 'loss' in k
               and not isinstance(v, list))


def test_trainid_categories_are_refused(root):
    """A JSON in trainIds (e.g. Cityscapes-VPS') would give wrong labels: refused, naming it."""
    from mmvps.datasets.classes.cityscapes_vps import CATEGORIES
    from mmvps.datasets.formats import dump_json, load_json
    path = root / 'gtFine' / 'cityscapes_panoptic_train.json'
    data = load_json(str(path))
    data['categories'] = [dict(id=c['id'], name=c['name'], isthing=c['isthing'])
                          for c in CATEGORIES]
    dump_json(str(path), data)
    with pytest.raises(FormatError, match=f'{path}.*categories'):
        build(root)

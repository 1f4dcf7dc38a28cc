"""Datasets and image loading on hostile input: every error names the file."""
import json
import os.path as osp

import numpy as np
import pytest
from fixture_trees import make_cityscapes_vps, make_vipseg_720p, make_vipseg_raw, maps, \
    write_split_file
from mmengine.registry import DefaultScope
from mmengine.registry import TRANSFORMS as ROOT_TRANSFORMS

from mmvps.datasets import CityscapesVPSDataset, LoadImageFromFile, VIPSegDataset
from mmvps.datasets.formats import FormatError

SKY = 28


def frame():
    return maps(np.full((4, 6), SKY))


@pytest.fixture
def raw_root(tmp_path):
    root = str(tmp_path / 'VIPSeg')
    make_vipseg_raw(root, dict(train={'v0': {'00000001': frame(), '00000004': frame()}}))
    return root


@pytest.mark.parametrize('name', ['../v0', '/etc', 'v0/../../x'])
def test_split_file_names_that_leave_their_folder(raw_root, name):
    write_split_file(osp.join(raw_root, 'train.txt'), ['v0', name])
    with pytest.raises(FormatError, match=r'train.txt: video name .* is empty, absolute or '
                       'contains ".."'):
        VIPSegDataset(ann_file='train.txt', data_root=raw_root)


def test_coco_video_name_with_dots_is_refused_at_load(tmp_path):
    root = str(tmp_path / 'VIPSeg_720P')
    make_vipseg_720p(root, dict(train={'v0': {'00000001': frame()}}))
    path = osp.join(root, 'panoptic_gt_VIPSeg_train.json')
    with open(path) as f:
        data = json.load(f)
    data['annotations'][0]['video_id'] = data['videos'][0]['video_id'] = '../../outside'
    with open(path, 'w') as f:
        json.dump(data, f)
    with pytest.raises(FormatError, match="panoptic_gt_VIPSeg_train.json: video name "
                       "'../../outside' is empty, absolute"):
        VIPSegDataset(ann_file='panoptic_gt_VIPSeg_train.json', data_root=root)


def test_split_file_that_is_not_utf8(raw_root):
    with open(osp.join(raw_root, 'train.txt'), 'wb') as f:
        f.write(b'v0\n\xe9t\xe9\n')
    with pytest.raises(FormatError, match=r'train.txt: not UTF-8 text'):
        VIPSegDataset(ann_file='train.txt', data_root=raw_root)


@pytest.mark.parametrize('content', [b'', b'\xff\xd8\xff\xe0 not really a jpeg'])
def test_empty_or_undecodable_jpeg_names_the_file(raw_root, content):
    path = osp.join(raw_root, 'imgs', 'v0', '00000004.jpg')
    with open(path, 'wb') as f:
        f.write(content)
    with DefaultScope.overwrite_default_scope('mmvps'):
        load = ROOT_TRANSFORMS.build(dict(type='LoadImageFromFile'))
    assert isinstance(load, LoadImageFromFile)  # mmvps' class wins in the mmvps scope
    assert load(dict(img_path=osp.join(raw_root, 'imgs', 'v0', '00000001.jpg')))['img'].shape == \
        (4, 6, 3)
    with pytest.raises(FormatError, match=r'imgs/v0/00000004.jpg: unreadable, empty or corrupt '
                       'image'):
        load(dict(img_path=path))


@pytest.fixture
def city_root(tmp_path):
    root = str(tmp_path / 'cityscapes_vps')
    cat, inst = maps(np.zeros((4, 6), np.int64))
    cat[1, 1:3], inst[1, 1:3] = 13, 1
    make_cityscapes_vps(root, 'train', {5: dict(city='frankfurt', seq=0, last_frame=1736,
                                                gt=[(cat, inst)] * 6)})
    return root


def _edit(path, edit):
    with open(path) as f:
        data = json.load(f)
    edit(data)
    with open(path, 'w') as f:
        json.dump(data, f)


@pytest.mark.parametrize('edit,message', [
    (lambda d: d['images'][0].update(file_name=None), 'each image needs an id and a file_name'),
    (lambda d: d['images'].append(dict(d['images'][0])), 'is listed twice'),
    (lambda d: d['annotations'][0].update(category_id=13.7), 'needs integer category_id'),
    (lambda d: d['annotations'][0].update(category_id=True), 'needs integer category_id'),
    (lambda d: d['annotations'][0].update(inst_id=None), 'needs integer category_id'),
])
def test_cityscapes_instances_json_fields(city_root, edit, message):
    _edit(osp.join(city_root, 'instances_train_city_vps_rle.json'), edit)
    with pytest.raises(FormatError, match=f'instances_train_city_vps_rle.json: .*{message}'):
        CityscapesVPSDataset(ann_file='instances_train_city_vps_rle.json', data_root=city_root,
                             data_prefix=dict(img='train/img/', seg='train/labelmap/'))


def test_cityscapes_panoptic_json_null_segments(city_root):
    _edit(osp.join(city_root, 'panoptic_gt_train_city_vps.json'),
          lambda d: d['annotations'][0].update(segments_info=None))
    with pytest.raises(FormatError, match=r'panoptic_gt_train_city_vps.json: each annotation has '
                       r'segments_info=None \(a list expected\)'):
        CityscapesVPSDataset(ann_file='panoptic_gt_train_city_vps.json', data_root=city_root,
                             seg_format='coco_panoptic',
                             data_prefix=dict(img='train/img/', seg='train/panoptic_video/'))

"""A dataset tree whose category list (a category file or a JSON's ``categories``) disagrees
with the dataset class stops with a message naming the file, both sides and the ids that
differ; the official trees load."""
import json
import logging
import re

import numpy as np
import pytest
from fixture_trees import (make_cityscapes_vps, make_viper_vps, make_vipseg_720p, make_vspw,
                           maps)

from mmvps.datasets import (CityscapesVPSDataset, VIPERVPSDataset, VIPSegDataset, VSPWDataset,
                            base_video_panoptic_dataset)
from mmvps.datasets.formats import FormatError


def edit_categories(path, edit):
    """Apply ``edit`` to the category list of a JSON file (a list, or a dict's
    ``categories``)."""
    with open(path) as f:
        data = json.load(f)
    categories = data if isinstance(data, list) else data['categories']
    edit(categories)
    with open(path, 'w') as f:
        json.dump(data, f)


def by_id(categories, category_id):
    return next(c for c in categories if c['id'] == category_id)


def rename(category_id, name):
    return lambda cats: by_id(cats, category_id).update(name=name)


def flip_isthing(category_id):
    return lambda cats: by_id(cats, category_id).update(
        isthing=1 - by_id(cats, category_id)['isthing'])


def drop(category_id):
    return lambda cats: cats.remove(by_id(cats, category_id))


# ------------------------------------------------------------------------------ VIPSeg 720P
@pytest.fixture
def vipseg_root(tmp_path):
    root = tmp_path / 'VIPSeg_720P'
    wall, person = 0, 60
    cat, inst = maps([[wall, wall, person], [wall, person, person]], [[0, 0, 1], [0, 1, 1]])
    make_vipseg_720p(str(root), dict(train={'12_abc': {'00000001': (cat, inst)}}))
    return root


def build_vipseg(root):
    return VIPSegDataset(ann_file='panoptic_gt_VIPSeg_train.json', data_root=str(root))


@pytest.mark.parametrize('edit, differs', [
    (rename(60, 'pedestrian'), r"only in the file: \['60:pedestrian'\], only in VIPSegDataset: "
     r"\['60:person'\]"),
    (flip_isthing(0), r"isthing differs for \['0:wall \(thing in the file, stuff in "
     r"VIPSegDataset\)'\]"),
    (drop(123), r"lists 123 categories, VIPSegDataset has 124; only in the file: \[\], only in "
     r"VIPSegDataset: \['123:"),
])
def test_vipseg_720p_json_categories(vipseg_root, edit, differs):
    assert len(build_vipseg(vipseg_root)) == 1  # the official tree loads
    path = vipseg_root / 'panoptic_gt_VIPSeg_train.json'
    edit_categories(path, edit)  # the category file next to it still agrees
    with pytest.raises(FormatError, match=re.escape(f'{path} (categories): ') + '.*' + differs):
        build_vipseg(vipseg_root)


# ------------------------------------------------------------------------------ Cityscapes-VPS
ROAD, SKY, PERSON, CAR = 0, 10, 11, 13


def city_frame(j):
    cat, inst = maps([[SKY] * 4, [ROAD] * 4, [ROAD] * 4])
    cat[1, j % 3:j % 3 + 2], inst[1, j % 3:j % 3 + 2] = CAR, 1
    cat[2, 0], inst[2, 0] = PERSON, 1
    return cat, inst


@pytest.fixture
def city_root(tmp_path):
    root = tmp_path / 'cityscapes_vps'
    videos = {1: dict(city='frankfurt', seq=0, last_frame=304,
                      gt=[city_frame(j) for j in range(6)])}
    make_cityscapes_vps(str(root), 'val', videos)
    make_cityscapes_vps(str(root), 'test', videos, with_gt=False)
    return root


CITY_READS = {  # the JSON whose categories are edited -> how the dataset reads it
    'instances_val_city_vps_rle.json': dict(
        ann_file='instances_val_city_vps_rle.json',
        data_prefix=dict(img='val/img/', seg='val/labelmap/')),
    'panoptic_gt_val_city_vps.json': dict(
        ann_file='panoptic_gt_val_city_vps.json', seg_format='coco_panoptic',
        data_prefix=dict(img='val/img/', seg='val/panoptic_video/')),
    'im_all_info_val_city_vps.json': dict(
        ann_file='im_all_info_val_city_vps.json', data_prefix=dict(img='val/img_all/')),
    'panoptic_im_test_city_vps.json': dict(
        ann_file='im_all_info_test_city_vps.json', panoptic_ann='panoptic_im_test_city_vps.json',
        data_prefix=dict(img='test/img_all/')),
}


def build_city(root, name):
    return CityscapesVPSDataset(data_root=str(root), test_mode=True, **CITY_READS[name])


@pytest.mark.parametrize('name', sorted(CITY_READS))
@pytest.mark.parametrize('edit, differs', [
    (rename(13, 'automobile'), r"only in the file: \['13:automobile'\], only in "
     r"CityscapesVPSDataset: \['13:car'\]"),
    (flip_isthing(12), r"isthing differs for \['12:rider \(stuff in the file, thing in "
     r"CityscapesVPSDataset\)'\]"),
    (drop(18), r"only in the file: \[\], only in CityscapesVPSDataset: \['18:bicycle'\]"),
])
def test_cityscapes_vps_json_categories(city_root, name, edit, differs):
    assert len(build_city(city_root, name)) == 1  # the official tree loads
    path = city_root / name
    edit_categories(path, edit)
    with pytest.raises(FormatError, match=re.escape(f'{path} (categories): ') + '.*' + differs):
        build_city(city_root, name)


def test_cityscapes_vps_upstream_category_list_loads(city_root, shared_dir):
    """The verbatim city_default.CATEGORIES (spelling 'vegitation', extra fields) is the
    official list; the instances file lists the 8 things only, or else all 19."""
    with open(shared_dir / 'data' / 'classes' / 'cityscapes_vps.json') as f:
        upstream = json.load(f)['categories']
    assert by_id(upstream, 8)['name'] == 'vegitation'

    def replace_with(categories):
        return lambda cats: cats.__setitem__(slice(None), categories)

    for name in CITY_READS:
        listed = [c for c in upstream if c['isthing']] if 'instances' in name else upstream
        edit_categories(city_root / name, replace_with(listed))
        ds = build_city(city_root, name)
        assert ds.metainfo['classes'][16] == 'vegetation'
    path = city_root / 'instances_val_city_vps_rle.json'
    edit_categories(path, lambda cats: cats.append(by_id(upstream, 0)))
    with pytest.raises(FormatError, match=r"lists 9 categories, CityscapesVPSDataset has 19; "
                       r"only in the file: \[\], only in CityscapesVPSDataset: \['1:sidewalk'"):
        build_city(city_root, 'instances_val_city_vps_rle.json')


# ------------------------------------------------------------------------------ VIPER-VPS
@pytest.fixture
def viper_root(tmp_path):
    root = tmp_path / 'viper_vps'
    cat, inst = maps([[0, 0, 19], [1, 19, 19]], [[0, 0, 1], [0, 1, 1]])
    make_viper_vps(str(root), 'val_day', {'001': {'00000': (cat, inst)}})
    return root


def build_viper(root):
    return VIPERVPSDataset(ann_file='viper_panoptic_val_day_video.json', data_root=str(root))


@pytest.mark.parametrize('edit, differs', [
    (flip_isthing(13), r"isthing differs for \['13:trafficlight \(stuff in the file, thing in "
     r"VIPERVPSDataset\)'\]"),
    (drop(22), r"only in the file: \[\], only in VIPERVPSDataset: \['22:truck'\]"),
    (lambda cats: cats.append(dict(id=23, name='boat', isthing=1)),
     r"only in the file: \['23:boat'\], only in VIPERVPSDataset: \[\]"),
])
def test_viper_vps_ids_and_isthing_stop(viper_root, edit, differs):
    assert len(build_viper(viper_root)) == 1  # the official tree loads
    path = viper_root / 'viper_panoptic_val_day_video.json'
    edit_categories(path, edit)
    with pytest.raises(FormatError, match=re.escape(f'{path} (categories): ') + '.*' + differs):
        build_viper(viper_root)


def test_viper_vps_names_only_warn(viper_root, monkeypatch):
    """The VIPER class list is inferred: a real file may spell a name otherwise; the labels
    (by id) are unaffected, so it loads with a warning naming both spellings."""
    path = viper_root / 'viper_panoptic_val_day_video.json'
    edit_categories(path, rename(10, 'traffic sign'))
    logged = []
    monkeypatch.setattr(base_video_panoptic_dataset, 'print_log',
                        lambda msg, logger=None, level=logging.INFO: logged.append((msg, level)))
    ds = build_viper(viper_root)
    assert len(ds) == 1 and ds.metainfo['classes'][20] == 'trafficsign'
    np.testing.assert_array_equal(ds.label2cat[:10], range(13, 23))
    warnings = [msg for msg, level in logged if level == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(f'{path} (categories): category names differ from '
                                  "VIPERVPSDataset's (inferred list): only in the file: "
                                  "['10:traffic sign'], only in VIPERVPSDataset: "
                                  "['10:trafficsign']")


# ------------------------------------------------------------------------------ VSPW
@pytest.mark.parametrize('edit, differs', [
    (lambda dic: dic.update(wall='1', pedestrian=dic.pop('person')),
     r"only in the file: \['60:pedestrian'\], only in VSPWDataset: \['60:person'\]"),
    (lambda dic: dic.pop('train'), r"lists 123 categories, VSPWDataset has 124; only in the "
     r"file: \[\], only in VSPWDataset: \['123:train'\]"),
    (lambda dic: dic.update(others='1'), r"categories list an id twice: 0 \(others, wall\)"),
])
def test_vspw_label_num_dic(tmp_path, edit, differs):
    """VSPW's ``label_num_dic_final.json`` (name -> raw value as a string, 0 void) names the
    classes by raw value - 1."""
    root = tmp_path / 'VSPW_480p'
    make_vspw(str(root), dict(train={'0_a': {'00000001': maps([[0, 28]])}}))
    assert len(VSPWDataset(ann_file='train.txt', data_root=str(root))) == 1  # official tree
    path = root / 'label_num_dic_final.json'
    dic = json.loads(path.read_text())
    edit(dic)
    path.write_text(json.dumps(dic))
    with pytest.raises(FormatError, match=re.escape(f'{path}: ') + '.*' + differs):
        VSPWDataset(ann_file='train.txt', data_root=str(root))

"""BaseVideoPanopticDataset behaviour shared by every dataset: label space, filtering."""
import importlib
import json

import numpy as np
import pytest
from fixture_trees import make_cityscapes_vps, make_step, maps

from mmvps.datasets import CityscapesVPSDataset, KITTISTEPDataset, base_video_panoptic_dataset
from mmvps.datasets.formats import FormatError


def test_metainfo_subset_reorders_labels():
    ds = KITTISTEPDataset(lazy_init=True, metainfo=dict(classes=('car', 'person', 'sky')))
    assert ds.metainfo['thing_classes'] == ('car', 'person')
    assert ds.metainfo['stuff_classes'] == ('sky', )
    assert ds.metainfo['palette'] == [(0, 0, 142), (220, 20, 60), (70, 130, 180)]
    assert ds.label2cat == [13, 11, 10] and ds.cat2label == {13: 0, 11: 1, 10: 2}
    lut = ds.label_map
    assert lut.tolist() == [255] * 11 + [2, 1, 255, 0] + [255] * 5 and lut[0] == 255


@pytest.mark.parametrize('classes, message', [
    (('car', 'unicorn'), r"classes \['unicorn'\] are not categories"),
    (('sky', 'car'), 'classes must list the thing classes first'),
])
def test_metainfo_errors(classes, message):
    with pytest.raises(ValueError, match=message):
        KITTISTEPDataset(lazy_init=True, metainfo=dict(classes=classes))


@pytest.fixture
def snippets(tmp_path):
    root = str(tmp_path / 'cityscapes_vps')
    gt = [maps(np.zeros((2, 3)))] * 6
    make_cityscapes_vps(root, 'val', {3: dict(city='ulm', seq=1, last_frame=40, gt=gt),
                                      1: dict(city='aachen', seq=2, last_frame=99, gt=gt)})
    return dict(ann_file='im_all_info_val_city_vps.json', data_root=root,
                panoptic_ann='panoptic_gt_val_city_vps.json',
                data_prefix=dict(img='val/img_all/', seg='val/panoptic_video/'))


def test_filter_unannotated_keeps_frame_positions(snippets):
    ds = CityscapesVPSDataset(filter_cfg=dict(filter_unannotated=True), **snippets)
    assert [ds.get_data_info(i)['video_name'] for i in range(2)] == ['0001', '0003']
    video = ds.get_data_info(1)
    assert video['video_id'] == 1 and video['video_length'] == 6
    assert [f['frame_id'] for f in video['images']] == [4, 9, 14, 19, 24, 29]
    assert {f['video_id'] for f in video['images']} == {1}
    assert ds.get_len_per_video(0) == 6 and ds.num_all_imgs == 12
    # test mode ignores filter_cfg
    ds = CityscapesVPSDataset(filter_cfg=dict(filter_unannotated=True), test_mode=True,
                              **snippets)
    assert ds.num_all_imgs == 60


def test_filter_errors(snippets):
    with pytest.raises(ValueError, match=r"unknown filter_cfg keys \['filter_empty_gt'\]"):
        CityscapesVPSDataset(filter_cfg=dict(filter_empty_gt=True), **snippets)
    with pytest.raises(FormatError, match='leaves no frame'):
        CityscapesVPSDataset(filter_cfg=dict(min_size=3), **snippets)


def test_videos_left_empty_are_dropped_and_named(tmp_path, monkeypatch):
    root = str(tmp_path / 'kitti')
    make_step(root, 'train', {'0000': {'000000': maps(np.zeros((4, 4)))},
                              '0001': {'000000': maps(np.zeros((2, 4)))},
                              '0002': {'000000': maps(np.zeros((5, 5)))}})
    messages = []
    monkeypatch.setattr(base_video_panoptic_dataset, 'print_log',
                        lambda message, logger=None: messages.append(message))
    ds = KITTISTEPDataset(data_root=root, filter_cfg=dict(min_size=3))
    assert [ds.get_data_info(i)['video_name'] for i in range(len(ds))] == ['0000', '0002']
    assert [ds.get_data_info(i)['video_id'] for i in range(len(ds))] == [0, 1]
    assert messages == ['KITTISTEPDataset: frames before / after filtering: 3 / 2; videos left '
                        "without frames and dropped: ['0001']"]


@pytest.mark.parametrize('name', ['vipseg', 'cityscapes_vps', 'kitti_step', 'motchallenge_step',
                                  'viper_vps', 'vspw'])
def test_class_lists_match_the_reference(name, shared_dir):
    """The shipped class lists equal the reference copies of the official files."""
    with open(shared_dir / 'data' / 'classes' / f'{name}.json') as f:
        reference = json.load(f)
    shipped = importlib.import_module(f'mmvps.datasets.classes.{name}').CATEGORIES
    if name == 'vspw':  # names by train id, semantic only
        assert [c['name'] for c in shipped] == reference['classes_by_train_id']
        assert [c['id'] for c in shipped] == list(range(124))
        assert not any(c['isthing'] for c in shipped)
        return
    assert len(shipped) == len(reference['categories'])
    for ours, theirs in zip(shipped, reference['categories']):
        name_theirs = 'vegetation' if theirs['name'] == 'vegitation' else theirs['name']
        assert (ours['id'], ours['name'], ours['isthing']) == (theirs['id'], name_theirs,
                                                              theirs['isthing'])
        if 'color' in theirs:
            assert list(ours['color']) == theirs['color']
    assert [c['id'] for c in shipped if c['isthing']] == reference['thing_ids']

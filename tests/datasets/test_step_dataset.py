"""KITTISTEPDataset and MOTChallengeSTEPDataset on tiny deeplab2-layout trees."""
import os
import os.path as osp

import numpy as np
import pytest
from fixture_trees import load_frames, make_step, maps

from mmvps.datasets import KITTISTEPDataset, MOTChallengeSTEPDataset
from mmvps.datasets.formats import FormatError

ROAD, SKY, PERSON, RIDER, CAR = 0, 10, 11, 12, 13


def kitti_frame(t):
    """Road/sky, car 300 (> 255: G = 1, B = 44), person 1, a crowd car (id 0), void."""
    cat, inst = maps([[SKY] * 6, [ROAD] * 6, [ROAD] * 6, [ROAD] * 6])
    cat[1, t:t + 2], inst[1, t:t + 2] = CAR, 300
    cat[2, 4:6], inst[2, 4:6] = PERSON, 1
    cat[3, 0] = CAR  # car with id 0: crowd
    cat[3, 1] = RIDER
    cat[0, 5] = -1
    return cat, inst


@pytest.fixture
def kitti_root(tmp_path):
    root = str(tmp_path / 'kitti-step')
    make_step(root, 'train', {'0001': {'000000': kitti_frame(0), '000001': kitti_frame(1)},
                              '0000': {'000000': kitti_frame(2)}})
    make_step(root, 'test', {'0003': {'000000': None}})
    return root


def test_kitti_records_and_pixels(kitti_root):
    ds = KITTISTEPDataset(data_root=kitti_root)
    assert ds.metainfo['thing_classes'] == ('person', 'car')
    assert ds.metainfo['classes'][2:5] == ('road', 'sidewalk', 'building')
    assert [ds.get_data_info(i)['video_name'] for i in range(2)] == ['0000', '0001']
    video = ds.get_data_info(1)
    assert [f['frame_name'] for f in video['images']] == ['000000', '000001']
    first = video['images'][0]
    assert first['img_path'] == osp.join(kitti_root, 'images', 'train', '0001', '000000.png')
    assert first['seg_map_path'] == osp.join(kitti_root, 'panoptic_maps', 'train', '0001',
                                             '000000.png')
    assert (first['seg_format'], first['height'], first['width']) == ('step', 4, 6)
    person, car, road, sky, rider = (ds.cat2label[c] for c in (PERSON, CAR, ROAD, SKY, RIDER))
    for t, frame in enumerate(load_frames(ds, 1)):
        cat, inst = kitti_frame(t)
        labels = np.vectorize(lambda c: ds.cat2label.get(int(c), 255))(cat)
        np.testing.assert_array_equal(frame['gt_seg_map'], labels)
        np.testing.assert_array_equal(frame['gt_panoptic_seg'], labels + inst * 1000)
        assert frame['gt_instances_ids'].tolist() == [person + 1000, car + 300000]
        assert frame['gt_seg_map'][3, 0] == car  # crowd car keeps its class ...
        assert not frame['gt_masks'].masks[:, 3, 0].any()  # ... and is no instance
        assert frame['gt_seg_map'][0, 5] == 255 and frame['gt_seg_map'][3, 1] == rider
    assert (road, sky) == (2, 12)


def test_kitti_test_split_and_sequence_choice(kitti_root):
    ds = KITTISTEPDataset(data_root=kitti_root, test_mode=True,
                          data_prefix=dict(img='images/test/'))
    assert ds.get_data_info(0)['images'][0]['seg_map_path'] is None
    ds = KITTISTEPDataset(data_root=kitti_root, sequences=['0001'])
    assert len(ds) == 1 and ds.get_data_info(0)['video_length'] == 2
    with pytest.raises(FormatError, match='images/train/0007: sequence 0007 image directory '
                                          'not found'):
        KITTISTEPDataset(data_root=kitti_root, sequences=['0007'])


def test_kitti_missing_and_empty(kitti_root, tmp_path):
    with pytest.raises(FormatError, match='images/val/: image directory not found'):
        KITTISTEPDataset(data_root=kitti_root, data_prefix=dict(img='images/val/'))
    os.makedirs(tmp_path / 'empty' / 'images' / 'train')
    with pytest.raises(FormatError, match='images/train/: no sequence folders'):
        KITTISTEPDataset(data_root=str(tmp_path / 'empty'))
    os.remove(osp.join(kitti_root, 'panoptic_maps', 'train', '0001', '000001.png'))
    with pytest.raises(FormatError, match='0001/000001.png: mask not found for image'):
        KITTISTEPDataset(data_root=kitti_root)


def test_motchallenge_step_person_is_the_only_thing(tmp_path):
    root = str(tmp_path / 'motchallenge-step')
    # MOTS classes: 0 sidewalk, 1 building, 3 sky, 4 person, 5 rider
    cat, inst = maps([[3, 3, 1, 1], [0, 4, 4, 5], [0, 4, 4, 5]],
                     [[0, 0, 0, 0], [0, 2, 2, 0], [0, 0, 0, 0]])
    make_step(root, 'train', {'0009': {'000001': (cat, inst), '000002': (cat, inst)},
                              '0002': {'000001': (cat, inst)}}, img_suffix='.jpg')
    ds = MOTChallengeSTEPDataset(data_root=root, sequences=['0009'])
    assert ds.metainfo['thing_classes'] == ('person', ) and len(ds.metainfo['classes']) == 7
    frame = ds.get_data_info(0)['images'][0]
    assert frame['img_path'].endswith(osp.join('0009', '000001.jpg'))
    assert frame['frame_name'] == '000001'
    out = load_frames(ds, 0)[1]
    sidewalk, building, sky, rider = (ds.cat2label[c] for c in (0, 1, 3, 5))
    np.testing.assert_array_equal(
        out['gt_panoptic_seg'],
        [[sky, sky, building, building], [sidewalk, 2000, 2000, rider], [sidewalk, 0, 0, rider]])
    assert out['gt_instances_ids'].tolist() == [2000]

"""CityscapesVPSDataset on a tiny tree in VPSNet's layout."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from fixture_trees import load_frames, make_cityscapes_vps, maps

from mmvps.datasets import CityscapesVPSDataset
from mmvps.datasets.formats import FormatError

ROAD, SKY, PERSON, CAR = 0, 10, 11, 13
# two snippets of the same Cityscapes sequence; video numbers interleave across splits
VIDEOS = {5: dict(city='frankfurt', seq=0, last_frame=1761),
          2: dict(city='frankfurt', seq=0, last_frame=304)}


def annotated_frame(video, j):
    """Road/sky, person object 0 (track id 1), car object 3 (track id 4) moving, a crowd car."""
    cat, inst = maps([[SKY] * 6, [ROAD] * 6, [ROAD] * 6, [ROAD] * 6])
    cat[1, 0:2], inst[1, 0:2] = PERSON, 1
    x = j % 4
    cat[2, x:x + 2], inst[2, x:x + 2] = CAR, 4
    cat[3, 5] = CAR  # no instance id: crowd
    cat[0, video % 6] = -1
    return cat, inst


def build(root, split, with_gt=True):
    make_cityscapes_vps(root, split, {
        v: dict(spec, gt=[annotated_frame(v, j) for j in range(6)]) for v, spec in VIDEOS.items()
    }, with_gt=with_gt)


@pytest.fixture
def root(tmp_path):
    root = str(tmp_path / 'cityscapes_vps')
    build(root, 'train')
    build(root, 'val')
    build(root, 'test', with_gt=False)
    return root


def expected(ds, video, j):
    cat, inst = annotated_frame(video, j)
    labels = np.vectorize(lambda c: ds.cat2label.get(int(c), 255))(cat)
    return labels, labels + inst * 1000


def test_label_space(root):
    ds = CityscapesVPSDataset(lazy_init=True)
    assert ds.metainfo['thing_classes'] == ('person', 'rider', 'car', 'truck', 'bus', 'train',
                                            'motorcycle', 'bicycle')
    assert ds.label2cat == list(range(11, 19)) + list(range(11))
    assert ds.metainfo['classes'][16] == 'vegetation'


@pytest.mark.parametrize('seg_format, ann_file, seg', [
    ('cityscapes_labelmap_rle', 'instances_train_city_vps_rle.json', 'train/labelmap/'),
    ('cityscapes_panoptic_inst', 'instances_train_city_vps_rle.json', 'train/panoptic_inst/'),
    ('coco_panoptic', 'panoptic_gt_train_city_vps.json', 'train/panoptic_video/'),
])
def test_annotated_frames(root, seg_format, ann_file, seg):
    ds = CityscapesVPSDataset(ann_file=ann_file, data_root=root, seg_format=seg_format,
                              data_prefix=dict(img='train/img/', seg=seg))
    assert [ds.get_data_info(i)['video_name'] for i in range(len(ds))] == ['0002', '0005']
    frames = ds.get_data_info(1)['images']
    assert len(frames) == 6 and all(f['is_annotated'] for f in frames)
    assert frames[0]['frame_name'] == '0005_0025_frankfurt_000000_001736_newImg8bit'
    assert frames[0]['img_id'] == '0005_0025_frankfurt_000000_001736'
    assert frames[3]['seg_map_path'] == osp.join(
        root, seg, '0005_0028_frankfurt_000000_001751_gtFine_color.png')
    assert frames[0]['seg_format'] == seg_format
    car = ds.cat2label[CAR]
    seen = {}
    for j, frame in enumerate(load_frames(ds, 1)):
        labels, pan = expected(ds, 5, j)
        np.testing.assert_array_equal(frame['gt_seg_map'], labels)
        tracked = pan >= 1000
        np.testing.assert_array_equal(frame['gt_panoptic_seg'] >= 1000, tracked)
        np.testing.assert_array_equal(frame['gt_panoptic_seg'] % 1000, labels)
        assert frame['gt_panoptic_seg'][3, 5] == car  # crowd
        # one track id per object through the video
        for key, value in zip(pan[tracked], frame['gt_panoptic_seg'][tracked]):
            assert seen.setdefault(int(key), int(value)) == value
        if seg_format != 'coco_panoptic':  # obj index k is track id k + 1
            np.testing.assert_array_equal(frame['gt_panoptic_seg'], pan)


def test_whole_snippets_with_annotated_frames(root):
    ds = CityscapesVPSDataset(
        ann_file='im_all_info_val_city_vps.json', panoptic_ann='panoptic_gt_val_city_vps.json',
        data_root=root, data_prefix=dict(img='val/img_all/', seg='val/panoptic_video/'),
        test_mode=True)
    assert [ds.get_data_info(i)['video_name'] for i in range(2)] == ['0002', '0005']
    frames = ds.get_data_info(1)['images']
    assert len(frames) == 30
    assert frames[0]['frame_name'] == 'frankfurt_000000_001732_leftImg8bit'
    assert [f['frame_id'] for f in frames if f['is_annotated']] == [4, 9, 14, 19, 24, 29]
    assert frames[19]['img_id'] == '0005_0028_frankfurt_000000_001751'
    assert frames[19]['seg_map_path'] == osp.join(
        root, 'val', 'panoptic_video', '0005_0028_frankfurt_000000_001751_gtFine_color.png')
    assert frames[18]['seg_map_path'] is None and frames[18]['img_id'] is None
    assert frames[4]['segments_info'] and frames[5]['segments_info'] is None
    loaded = load_frames(ds, 1)
    for j, index in enumerate(range(4, 30, 5)):
        labels, _ = expected(ds, 5, j)
        np.testing.assert_array_equal(loaded[index]['gt_seg_map'], labels)
    assert (loaded[0]['gt_seg_map'] == 255).all() and len(loaded[0]['gt_masks']) == 0


def test_test_split_flags_annotated_frames_without_ground_truth(root):
    ds = CityscapesVPSDataset(
        ann_file='im_all_info_test_city_vps.json', panoptic_ann='panoptic_im_test_city_vps.json',
        data_root=root, data_prefix=dict(img='test/img_all/'), test_mode=True)
    frames = ds.get_data_info(0)['images']
    assert ds.get_data_info(0)['video_name'] == '0002'
    assert [f['img_id'] for f in frames if f['is_annotated']][0] == \
        '0002_0007_frankfurt_000000_000279'
    assert all(f['seg_map_path'] is None for f in frames)
    with pytest.raises(FormatError, match='panoptic_im_test_city_vps.json: has no annotations'):
        CityscapesVPSDataset(
            ann_file='im_all_info_test_city_vps.json',
            panoptic_ann='panoptic_im_test_city_vps.json', data_root=root,
            data_prefix=dict(img='test/img_all/', seg='test/panoptic_video/'))
    # the annotated test images without ground truth
    ds = CityscapesVPSDataset(ann_file='panoptic_im_test_city_vps.json', data_root=root,
                              data_prefix=dict(img='test/img/'), test_mode=True)
    assert len(ds) == 2 and ds.get_data_info(0)['images'][0]['seg_map_path'] is None


def test_snippets_without_annotation_list(root):
    ds = CityscapesVPSDataset(ann_file='im_all_info_val_city_vps.json', data_root=root,
                              data_prefix=dict(img='val/img_all/'), test_mode=True)
    assert ds.get_data_info(0)['video_name'] == 'frankfurt_000000_000275'
    assert not any(f['is_annotated'] for f in ds.get_data_info(0)['images'])


def rewrite(path, edit):
    with open(path) as f:
        data = json.load(f)
    edit(data)
    with open(path, 'w') as f:
        json.dump(data, f)


@pytest.fixture
def val_root(tmp_path):
    root = str(tmp_path / 'cityscapes_vps')
    build(root, 'val')
    return root


def drop_last_image(data):
    data['images'].pop()


def add_odd_image(data):
    data['images'].append(dict(data['images'][0], file_name='x.png'))


def move_annotated_frame(frame_number):
    def edit(data):
        data['images'][0]['file_name'] = \
            f'0002_0007_frankfurt_000000_{frame_number:06d}_newImg8bit.png'
    return edit


@pytest.mark.parametrize('all_info_edit, gt_edit, frames_per_video, message', [
    (drop_last_image, None, 30, 'im_all_info_val_city_vps.json: 59 images are not whole '
                                'snippets of 30 frames'),
    (None, None, 20, r'im_all_info_val_city_vps.json: frames 20..39 \(frankfurt_000000_000295..'
                     r'frankfurt_000000_001741\) are not 20 consecutive frames of one sequence'),
    (add_odd_image, None, 30, 'im_all_info_val_city_vps.json: image x.png is neither'),
    (None, move_annotated_frame(100), 30, r"panoptic_gt_val_city_vps.json: annotated frames "
                                          r"\['frankfurt_000000_000100'\] are not among"),
    (None, move_annotated_frame(1740), 30, 'panoptic_gt_val_city_vps.json: snippet '
                                           'frankfurt_000000_001732..frankfurt_000000_001761 has '
                                           'annotated frames of 2 videos'),
])
def test_bad_snippet_files(val_root, all_info_edit, gt_edit, frames_per_video, message):
    if all_info_edit:
        rewrite(osp.join(val_root, 'im_all_info_val_city_vps.json'), all_info_edit)
    if gt_edit:
        rewrite(osp.join(val_root, 'panoptic_gt_val_city_vps.json'), gt_edit)
    with pytest.raises(FormatError, match=message):
        CityscapesVPSDataset(
            ann_file='im_all_info_val_city_vps.json', data_root=val_root,
            panoptic_ann='panoptic_gt_val_city_vps.json', frames_per_video=frames_per_video,
            data_prefix=dict(img='val/img_all/', seg='val/panoptic_video/'))


def test_missing_label_and_unknown_image(root):
    label = osp.join(root, 'train', 'labelmap', '0002_0007_frankfurt_000000_000279_final_mask.png')
    os.remove(label)
    with pytest.raises(FormatError, match=f'{label}: label not found for image'):
        CityscapesVPSDataset(ann_file='instances_train_city_vps_rle.json', data_root=root)
    rewrite(osp.join(root, 'instances_train_city_vps_rle.json'),
            lambda d: d['annotations'][0].update(image_id=123))
    with pytest.raises(FormatError, match='refers to unknown image 123'):
        CityscapesVPSDataset(ann_file='instances_train_city_vps_rle.json', data_root=root)

"""VIPSegDataset on tiny trees in the raw and the 720P COCO-panoptic layouts."""
import os
import os.path as osp

import numpy as np
import pytest
from fixture_trees import load_frames, make_vipseg_720p, make_vipseg_raw
from mmcv.transforms import LoadImageFromFile, TransformBroadcaster
from PIL import Image

from mmvps.datasets import LoadVideoPanopticAnnotations, VIPSegDataset
from mmvps.datasets.formats import FormatError

WALL, SKY, PERSON, CAR = 0, 28, 60, 48  # official JSON ids
VIDEO = '353_-5sqmCF8OFU'  # names may hold '-' and '_'
STEMS = ('00000392', '00000395', '00000401')  # VSPW indices, step 3 with a gap


def scene(t):
    """Frame ``t``: sky above wall, person 1 moving right, person 2 (frames 0-1), car 1, a crowd
    person (frame 1), a void pixel."""
    cat = np.full((6, 8), WALL, dtype=np.int64)
    inst = np.zeros_like(cat)
    cat[0] = SKY
    cat[1:3, 1 + t:3 + t], inst[1:3, 1 + t:3 + t] = PERSON, 1
    if t < 2:
        cat[3:5, 1:3], inst[3:5, 1:3] = PERSON, 2
    cat[2:4, 5:7], inst[2:4, 5:7] = CAR, 1
    if t == 1:
        cat[5, 0:2] = PERSON  # thing pixels without an instance: crowd
    cat[5, 7] = -1
    return cat, inst


def expected_labels(dataset, cat):
    lut = {c: l for l, c in enumerate(dataset.label2cat)}
    return np.vectorize(lambda c: lut.get(int(c), 255))(cat)


@pytest.fixture
def raw_root(tmp_path):
    root = str(tmp_path / 'VIPSeg')
    make_vipseg_raw(root, dict(
        train={VIDEO: {stem: scene(t) for t, stem in enumerate(STEMS)},
               '0_wHveSGjXyDY': {'00000166': scene(0)}},
        test={'1_6af8YrET3hs': {'00004240': None, '00004243': None}}))
    return root


def test_metainfo_things_first_and_label_maps(raw_root):
    ds = VIPSegDataset(ann_file='train.txt', data_root=raw_root)
    meta = ds.metainfo
    assert len(meta['classes']) == 124 and len(meta['thing_classes']) == 58
    assert meta['classes'][:58] == meta['thing_classes']
    assert meta['classes'][0] == 'door' and meta['classes'][58] == 'wall'  # first thing / stuff
    assert ds.label2cat[:3] == [2, 4, 8] and ds.cat2label[PERSON] == meta['classes'].index('person')
    assert len(meta['palette']) == 124 and meta['palette'][0] == (6, 230, 230)
    lut = ds.label_map
    assert lut[0] == 255 and lut[WALL + 1] == 58 and lut[PERSON + 1] == ds.cat2label[PERSON]
    assert sorted(lut[1:].tolist()) == list(range(124)) and not lut.flags.writeable


def test_raw_records_sorted_by_name(raw_root):
    ds = VIPSegDataset(ann_file='train.txt', data_root=raw_root)
    assert len(ds) == 2
    video = ds.get_data_info(0)
    assert video['video_name'] == VIDEO and video['video_length'] == 3
    frames = video['images']
    assert [f['frame_name'] for f in frames] == list(STEMS)
    assert [f['frame_id'] for f in frames] == [0, 1, 2]
    assert frames[2]['img_path'] == osp.join(raw_root, 'imgs', VIDEO, '00000401.jpg')
    assert frames[2]['seg_map_path'] == osp.join(raw_root, 'panomasks', VIDEO, '00000401.png')
    assert {(f['seg_format'], f['height'], f['width'], f['is_annotated'], f['video_id'],
             f['num_things']) for f in frames} == {('vipseg_raw', 6, 8, True, 0, 58)}
    assert all(f['label_map'] is ds.label_map for f in frames)


def test_raw_pixels_crowd_void_and_200(raw_root):
    # the known data bug: raw value 200 is void
    path = osp.join(raw_root, 'panomasks', VIDEO, STEMS[2] + '.png')
    raw = np.array(Image.open(path)).astype(np.uint16)
    raw[0, 0] = 200
    Image.fromarray(raw).save(path)
    ds = VIPSegDataset(ann_file='train.txt', data_root=raw_root)
    frames = load_frames(ds, 0)
    person, car = ds.cat2label[PERSON], ds.cat2label[CAR]
    for t, frame in enumerate(frames):
        cat, inst = scene(t)
        if t == 2:
            cat[0, 0] = -1
        labels = expected_labels(ds, cat)
        np.testing.assert_array_equal(frame['gt_seg_map'], labels)
        assert frame['gt_seg_map'].dtype == np.uint8
        np.testing.assert_array_equal(frame['gt_panoptic_seg'], labels + inst * 1000)
        tracks = [person + 1000, car + 1000] + ([person + 2000] if t < 2 else [])
        assert sorted(frame['gt_instances_ids'].tolist()) == sorted(tracks)
        for track, mask in zip(frame['gt_instances_ids'], frame['gt_masks'].masks):
            np.testing.assert_array_equal(mask, (labels + inst * 1000) == track)
        np.testing.assert_array_equal(frame['gt_bboxes_labels'], frame['gt_instances_ids'] % 1000)
    assert frames[2]['gt_seg_map'][0, 0] == 255
    assert frames[2]['gt_seg_map'][0, 1] == ds.cat2label[SKY]
    # crowd: keeps its class, is no instance
    assert (frames[1]['gt_seg_map'][5, 0:2] == person).all()
    assert (frames[1]['gt_panoptic_seg'][5, 0:2] == person).all()
    assert not frames[1]['gt_masks'].masks[:, 5, 0:2].any()
    # the box of person 1 in frame 2 (rows 1-2, columns 3-4)
    index = frames[2]['gt_instances_ids'].tolist().index(person + 1000)
    np.testing.assert_array_equal(frames[2]['gt_bboxes'].tensor[index].numpy(), [3, 1, 5, 3])


def test_test_split_without_masks(raw_root):
    ds = VIPSegDataset(ann_file='test.txt', data_root=raw_root, data_prefix=dict(img='imgs/'),
                       test_mode=True)
    frames = ds.get_data_info(0)['images']
    assert [f['seg_map_path'] for f in frames] == [None, None]
    assert [f['frame_name'] for f in frames] == ['00004240', '00004243']
    loaded = load_frames(ds, 0)[0]
    assert (loaded['gt_seg_map'] == 255).all() and len(loaded['gt_masks']) == 0


def test_test_mode_frame_and_video_indexing(raw_root):
    pipeline = [TransformBroadcaster(transforms=[
        LoadImageFromFile(), LoadVideoPanopticAnnotations(with_panoptic=True)])]
    ds = VIPSegDataset(ann_file='train.txt', data_root=raw_root, test_mode=True,
                       pipeline=pipeline)
    one = ds[(0, 1)]
    assert one['frame_name'] == [STEMS[1]] and one['video_length'] == [1]
    assert one['ori_video_length'] == [3] and one['video_name'] == [VIDEO]
    assert one['gt_panoptic_seg'][0].shape == (6, 8)
    whole = ds[0]
    assert whole['frame_id'] == [0, 1, 2] and len(whole['gt_seg_map']) == 3


def test_720p_coco_layout_matches_raw(tmp_path):
    root = str(tmp_path / 'VIPSeg_720P')
    make_vipseg_720p(root, dict(
        train={VIDEO: {stem: scene(t) for t, stem in enumerate(STEMS)}},
        test={'1_6af8YrET3hs': {'00004240': None}}))
    ds = VIPSegDataset(ann_file='panoptic_gt_VIPSeg_train.json', data_root=root)
    assert ds.layout == 'coco'
    frames = ds.get_data_info(0)['images']
    assert [f['frame_name'] for f in frames] == list(STEMS)
    assert frames[0]['seg_map_path'] == osp.join(root, 'panomasksRGB', VIDEO, STEMS[0] + '.png')
    assert frames[0]['img_path'] == osp.join(root, 'images', VIDEO, STEMS[0] + '.jpg')
    assert frames[0]['seg_format'] == 'coco_panoptic' and frames[0]['img_id'] == STEMS[0]
    coco = load_frames(ds, 0)
    raw = load_frames(VIPSegDataset(ann_file='train.txt', data_root=root,
                                    data_prefix=dict(img='images/', seg='panomasks/')), 0)
    seen = {}
    for t, (c, r) in enumerate(zip(coco, raw)):
        np.testing.assert_array_equal(c['gt_seg_map'], r['gt_seg_map'])
        c_inst, r_inst = c['gt_panoptic_seg'] // 1000, r['gt_panoptic_seg'] // 1000
        np.testing.assert_array_equal(c_inst > 0, r_inst > 0)
        # COCO segment ids are the track ids: one id per object, the same in every frame
        for key, value in zip(zip(c['gt_seg_map'][r_inst > 0], r_inst[r_inst > 0]),
                              c_inst[r_inst > 0]):
            assert seen.setdefault(key, value) == value
    assert len(set(seen.values())) == len(seen) == 3
    # no masks for the test split: the image folder and frame names still load
    with pytest.raises(FormatError, match='panoptic_gt_VIPSeg_test.json: file not found'):
        VIPSegDataset(ann_file='panoptic_gt_VIPSeg_test.json', data_root=root)


def test_layout_must_fit_the_annotation_file(raw_root):
    with pytest.raises(ValueError, match='train.txt: VIPSeg layout'):
        VIPSegDataset(ann_file='train.txt', data_root=raw_root, layout='coco')


def test_missing_split_file(raw_root):
    with pytest.raises(FormatError, match=r'val\.txt: split file not found'):
        VIPSegDataset(ann_file='val.txt', data_root=raw_root)


def test_missing_mask_names_the_file(raw_root):
    os.remove(osp.join(raw_root, 'panomasks', VIDEO, STEMS[1] + '.png'))
    missing = osp.join(raw_root, 'panomasks', VIDEO, STEMS[1] + '.png')
    with pytest.raises(FormatError, match=f'{missing}: mask not found'):
        VIPSegDataset(ann_file='train.txt', data_root=raw_root)


def test_mask_without_image_is_an_error(raw_root):
    os.remove(osp.join(raw_root, 'imgs', VIDEO, STEMS[1] + '.jpg'))
    with pytest.raises(FormatError, match=f'{STEMS[1]}.png: mask without an image'):
        VIPSegDataset(ann_file='train.txt', data_root=raw_root)


def test_video_without_frames_names_it(raw_root):
    for name in os.listdir(osp.join(raw_root, 'imgs', VIDEO)):
        os.remove(osp.join(raw_root, 'imgs', VIDEO, name))
    with pytest.raises(FormatError, match=f'imgs/{VIDEO}: VIPSeg video .* holds no .jpg'):
        VIPSegDataset(ann_file='train.txt', data_root=raw_root)


def test_missing_video_folder_names_it(raw_root):
    with open(osp.join(raw_root, 'train.txt'), 'a') as f:
        f.write('2_missing\n')
    with pytest.raises(FormatError, match='imgs/2_missing: VIPSeg video 2_missing image '
                                          'directory not found'):
        VIPSegDataset(ann_file='train.txt', data_root=raw_root)


def test_corrupt_first_image_names_it(raw_root):
    path = osp.join(raw_root, 'imgs', VIDEO, STEMS[0] + '.jpg')
    with open(path, 'wb') as f:
        f.write(b'')
    with pytest.raises(FormatError, match=f'{path}: unreadable or corrupt image'):
        VIPSegDataset(ann_file='train.txt', data_root=raw_root)

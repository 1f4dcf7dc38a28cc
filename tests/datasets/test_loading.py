"""LoadVideoPanopticAnnotations on hand-made frame records."""
import numpy as np
import pytest
from fixture_trees import maps, write_image
from mmcv.transforms import LoadImageFromFile
from pycocotools import mask as mask_utils

from mmvps.datasets import CityscapesVPSDataset, KITTISTEPDataset, LoadVideoPanopticAnnotations
from mmvps.datasets.formats import (FormatError, write_cityscapes_labelmap, write_step,
                                    write_vipseg_raw)

# KITTI-STEP trainIds: 0 road, 10 sky, 11 person (thing), 12 rider (stuff), 13 car (thing)
ROAD, SKY, PERSON, RIDER, CAR = 0, 10, 11, 12, 13


@pytest.fixture(scope='module')
def kitti():
    return KITTISTEPDataset(lazy_init=True)


def frame(kitti, seg_map_path, seg_format='step', height=3, width=4, **extra):
    return dict(seg_map_path=seg_map_path, seg_format=seg_format, height=height, width=width,
                label_map=kitti.label_map, num_things=kitti.num_things, **extra)


def test_step_labels_tracks_crowd_and_void(tmp_path, kitti):
    # person 300 (> 255: uses G), car 1, car pixels without id (crowd), an id on rider (stuff)
    cat, inst = maps([[ROAD, PERSON, PERSON, CAR], [SKY, CAR, CAR, -1], [RIDER, RIDER, ROAD, ROAD]],
                     [[0, 300, 300, 0], [0, 1, 1, 0], [7, 7, 0, 0]])
    path = str(tmp_path / '000000.png')
    write_step(path, cat, inst)
    out = LoadVideoPanopticAnnotations(with_panoptic=True)(frame(kitti, path))
    person, car, road, sky, rider = (kitti.cat2label[c] for c in (PERSON, CAR, ROAD, SKY, RIDER))
    assert (person, car) == (0, 1)  # the only thing classes
    np.testing.assert_array_equal(
        out['gt_seg_map'], [[road, 0, 0, 1], [sky, 1, 1, 255], [rider, rider, road, road]])
    np.testing.assert_array_equal(
        out['gt_panoptic_seg'],
        [[road, 300000, 300000, 1], [sky, 1001, 1001, 255], [rider, rider, road, road]])
    assert out['gt_instances_ids'].tolist() == [1001, 300000]
    assert out['gt_bboxes_labels'].tolist() == [car, person]
    np.testing.assert_array_equal(out['gt_masks'].masks[0], [[0, 0, 0, 0], [0, 1, 1, 0],
                                                              [0, 0, 0, 0]])
    np.testing.assert_array_equal(out['gt_bboxes'].tensor.numpy(), [[1, 1, 3, 2], [1, 0, 3, 1]])
    assert out['gt_ignore_flags'].tolist() == [False, False]
    assert out['gt_masks'].height == 3 and out['gt_masks'].width == 4


def test_same_track_id_in_two_classes_stays_two_objects(tmp_path, kitti):
    cat, inst = maps([[PERSON, CAR, ROAD]], [[1, 1, 0]])
    path = str(tmp_path / 'a.png')
    write_step(path, cat, inst)
    out = LoadVideoPanopticAnnotations()(frame(kitti, path, height=1, width=3))
    assert out['gt_instances_ids'].tolist() == [1000, 1001]
    assert 'gt_panoptic_seg' not in out


def test_classes_outside_metainfo_are_void(tmp_path):
    subset = KITTISTEPDataset(lazy_init=True, metainfo=dict(classes=('car', 'road', 'sky')))
    assert subset.metainfo['thing_classes'] == ('car', ) and subset.label2cat == [CAR, ROAD, SKY]
    cat, inst = maps([[PERSON, CAR, ROAD, SKY]], [[2, 4, 0, 0]])
    path = str(tmp_path / 'a.png')
    write_step(path, cat, inst)
    out = LoadVideoPanopticAnnotations(True)(frame(subset, path, height=1, width=4))
    np.testing.assert_array_equal(out['gt_panoptic_seg'], [[255, 4000, 1, 2]])
    assert out['gt_instances_ids'].tolist() == [4000]


def test_frame_without_ground_truth_is_void(kitti):
    out = LoadVideoPanopticAnnotations(True)(frame(kitti, None, height=2, width=5))
    assert out['gt_seg_map'].shape == (2, 5) and (out['gt_seg_map'] == 255).all()
    assert (out['gt_panoptic_seg'] == 255).all() and len(out['gt_masks']) == 0
    assert out['gt_bboxes'].tensor.shape == (0, 4) and out['gt_instances_ids'].shape == (0, )


def test_image_and_mask_sizes_must_agree(tmp_path, kitti):
    mask, image = str(tmp_path / 'm.png'), str(tmp_path / 'i.png')
    write_step(mask, *maps([[ROAD, ROAD]]))
    write_image(image, 3, 4)
    results = LoadImageFromFile()(frame(kitti, mask, img_path=image))
    with pytest.raises(FormatError, match=f'{mask}: mask is 1x2 but image {image} is 3x4'):
        LoadVideoPanopticAnnotations()(results)


def test_loaded_image_must_have_the_recorded_size(tmp_path, kitti):
    image = str(tmp_path / 'i.png')
    write_image(image, 5, 4)
    results = LoadImageFromFile()(frame(kitti, None, img_path=image))
    with pytest.raises(FormatError, match=f'{image}: image is 5x4 but the dataset records 3x4'):
        LoadVideoPanopticAnnotations()(results)


def test_corrupt_empty_and_missing_png(tmp_path, kitti):
    corrupt, empty = tmp_path / 'corrupt.png', tmp_path / 'empty.png'
    corrupt.write_bytes(b'\x89PNG\r\n\x1a\n not really a png')
    empty.write_bytes(b'')
    load = LoadVideoPanopticAnnotations()
    with pytest.raises(FormatError, match=f'{corrupt}: unreadable or corrupt PNG'):
        load(frame(kitti, str(corrupt)))
    with pytest.raises(FormatError, match=f'{empty}: empty file'):
        load(frame(kitti, str(empty)))
    with pytest.raises(FormatError, match='nothere.png: file not found'):
        load(frame(kitti, str(tmp_path / 'nothere.png')))


def test_unknown_format_and_category(tmp_path, kitti):
    path = str(tmp_path / 'a.png')
    write_step(path, *maps([[ROAD]]))
    with pytest.raises(ValueError, match="unknown seg_format 'mystery'"):
        LoadVideoPanopticAnnotations()(frame(kitti, path, 'mystery', 1, 1))
    write_vipseg_raw(path, *maps([[100]]))  # VIPSeg category 100 is no KITTI-STEP class
    with pytest.raises(FormatError, match=f'{path}: category id 100 is not a category'):
        LoadVideoPanopticAnnotations()(frame(kitti, path, 'vipseg_raw', 1, 1))


def test_cityscapes_labelmap_with_rle_tracks(tmp_path):
    city = CityscapesVPSDataset(lazy_init=True)
    person, car, road = (city.cat2label[c] for c in (11, 13, 0))
    cat = np.array([[0, 11, 11, 13], [0, 11, 13, 13]])
    path = str(tmp_path / 'x_final_mask.png')
    write_cityscapes_labelmap(path, cat)

    def rle(mask):
        encoded = mask_utils.encode(np.asfortranarray(np.array(mask, dtype=np.uint8)))
        encoded['counts'] = encoded['counts'].decode('ascii')
        return encoded

    instances = [
        dict(category_id=11, inst_id=11000, iscrowd=0, mask=rle([[0, 1, 0, 0], [0, 1, 0, 0]])),
        # only where the labelmap has the class: pixel (0, 2) stays crowd person
        dict(category_id=13, inst_id=13004, iscrowd=0, mask=rle([[0, 0, 1, 1], [0, 0, 1, 1]])),
        dict(category_id=11, inst_id=11009, iscrowd=1, mask=rle([[0, 0, 1, 0], [0, 0, 0, 0]])),
    ]
    out = LoadVideoPanopticAnnotations(True)(
        dict(seg_map_path=path, seg_format='cityscapes_labelmap_rle', height=2, width=4,
             label_map=city.label_map, num_things=city.num_things, instances=instances))
    np.testing.assert_array_equal(
        out['gt_panoptic_seg'],
        [[road, person + 1000, person, car + 5000], [road, person + 1000, car + 5000, car + 5000]])
    bad = [dict(instances[0], mask=rle([[1, 1, 1]]))]
    with pytest.raises(FormatError, match=f'{path}: labelmap is 2x4 but the RLE mask'):
        LoadVideoPanopticAnnotations()(
            dict(seg_map_path=path, seg_format='cityscapes_labelmap_rle', height=2, width=4,
                 label_map=city.label_map, num_things=city.num_things, instances=bad))

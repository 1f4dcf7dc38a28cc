"""VSPWDataset on a tiny VSPW_480p tree."""
import os.path as osp

import numpy as np
import pytest
from fixture_trees import load_frames, make_vspw, maps
from PIL import Image

from mmvps.datasets import VSPWDataset
from mmvps.datasets.formats import FormatError

VIDEO = '0_wHveSGjXyDY'


@pytest.fixture
def root(tmp_path):
    root = str(tmp_path / 'VSPW_480p')
    frames = {f'{i:08d}': maps([[0, 28, 28], [60, 60, 123]]) for i in (166, 167, 168)}
    make_vspw(root, dict(train={VIDEO: frames, '1_6af8YrET3hs': {'00004240': frames['00000166']}},
                         test={'2_x': {'00000001': None}}))
    return root


def test_semantic_labels_and_void(root):
    path = osp.join(root, 'data', VIDEO, 'mask', '00000167.png')
    raw = np.array(Image.open(path))
    np.testing.assert_array_equal(raw, [[1, 29, 29], [61, 61, 124]])  # raw ids on disk
    raw[0, 0], raw[0, 1], raw[0, 2] = 252, 0, 255  # stray value, "others", void
    Image.fromarray(raw).save(path)
    ds = VSPWDataset(ann_file='train.txt', data_root=root)
    assert ds.metainfo['thing_classes'] == () and ds.label2cat == list(range(124))
    assert ds.metainfo['classes'][60] == 'person'
    video = ds.get_data_info(0)
    assert video['video_name'] == VIDEO and video['video_length'] == 3
    assert video['images'][0]['img_path'] == osp.join(root, 'data', VIDEO, 'origin',
                                                      '00000166.jpg')
    assert video['images'][0]['seg_format'] == 'vspw'
    frames = load_frames(ds, 0)
    np.testing.assert_array_equal(frames[0]['gt_seg_map'], [[0, 28, 28], [60, 60, 123]])
    np.testing.assert_array_equal(frames[1]['gt_seg_map'], [[255, 255, 255], [60, 60, 123]])
    assert all(len(f['gt_masks']) == 0 for f in frames)  # semantic only: no instances
    np.testing.assert_array_equal(frames[0]['gt_panoptic_seg'], frames[0]['gt_seg_map'])


def test_test_split_and_missing_mask(root):
    ds = VSPWDataset(ann_file='test.txt', data_root=root, data_prefix=dict(img='data/'),
                     test_mode=True)
    assert ds.get_data_info(0)['images'][0]['seg_map_path'] is None
    with pytest.raises(FormatError, match=r'data/2_x/mask: mask directory not found'):
        VSPWDataset(ann_file='test.txt', data_root=root)

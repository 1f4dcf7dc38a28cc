"""VIPERVPSDataset on a tiny tree in the layout VPSNet's code reads."""
import os.path as osp

import numpy as np
import pytest
from fixture_trees import load_frames, make_viper_vps, maps

from mmvps.datasets import VIPERVPSDataset
from mmvps.datasets.formats import FormatError

SKY, ROAD, PERSON, CAR = 0, 1, 17, 19


def frame(t):
    cat, inst = maps([[SKY] * 4, [ROAD] * 4, [ROAD] * 4])
    cat[1, t:t + 2], inst[1, t:t + 2] = CAR, 2
    cat[2, 3], inst[2, 3] = PERSON, 1
    cat[0, 0] = -1
    return cat, inst


def test_videos_by_sequence_prefix(tmp_path):
    root = str(tmp_path / 'viper_vps')
    make_viper_vps(root, 'val_day', {'002': {'00010': frame(0), '00000': frame(1)},
                                     '001': {'00000': frame(2)}})
    ds = VIPERVPSDataset(ann_file='viper_panoptic_val_day_video.json', data_root=root)
    assert len(ds.metainfo['thing_classes']) == 10 and ds.label2cat[:2] == [13, 14]
    assert [ds.get_data_info(i)['video_name'] for i in range(2)] == ['001', '002']
    frames = ds.get_data_info(1)['images']
    assert [f['frame_name'] for f in frames] == ['002_00000', '002_00010']
    assert frames[0]['seg_map_path'] == osp.join(root, 'val_day', 'panoptic_video',
                                                 '002_00000.png')
    assert frames[0]['img_id'] == '002_00000' and frames[0]['seg_format'] == 'coco_panoptic'
    loaded = load_frames(ds, 1)
    tracks = set()
    for t, out in zip((1, 0), loaded):
        cat, inst = frame(t)
        labels = np.vectorize(lambda c: ds.cat2label.get(int(c), 255))(cat)
        np.testing.assert_array_equal(out['gt_seg_map'], labels)
        np.testing.assert_array_equal(out['gt_panoptic_seg'] >= 1000, inst > 0)
        tracks.update(out['gt_instances_ids'].tolist())
    assert len(tracks) == 2  # the car and the person keep their ids across frames


def test_names_without_sequence_prefix(tmp_path):
    root = str(tmp_path / 'viper_vps')
    make_viper_vps(root, 'val_day', {'001': {'00000': frame(0)}})
    path = osp.join(root, 'viper_panoptic_val_day_video.json')
    with open(path) as f:
        text = f.read().replace('001_00000.jpg', '00100000.jpg')
    with open(path, 'w') as f:
        f.write(text)
    with pytest.raises(FormatError, match='image 00100000.jpg is not named <seq>_<frame>'):
        VIPERVPSDataset(ann_file=path, data_root=root)

"""VideoPanopticDataset (classes from a category file or metainfo) and the check that a dataset
tree's category file agrees with the dataset class."""
import json

import numpy as np
import pytest

from mmvps.datasets.formats import FormatError
from mmvps.datasets.synthetic import SyntheticVPSDataset, generate_synthetic_vps
from mmvps.datasets.transforms import LoadVideoPanopticAnnotations
from mmvps.datasets.video_panoptic_dataset import VideoPanopticDataset, check_categories
from mmvps.datasets.vipseg_dataset import VIPSegDataset
from mmvps.registry import DATASETS


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    generate_synthetic_vps(str(root), 2, 1, 3)
    return root


def gt_of(dataset, video=0, frame=0):
    info = dataset.get_data_info(video)['images'][frame]
    return LoadVideoPanopticAnnotations(with_panoptic=True)(dict(info))['gt_panoptic_seg']


def test_reading_a_tree_with_another_datasets_classes_stops(tree):
    """VIPSegDataset (124 classes) on the synthetic tree (6): the category file says so."""
    with pytest.raises(FormatError) as error:
        VIPSegDataset(ann_file='train.txt', data_root=str(tree), test_mode=True)
    message = str(error.value)
    assert message.startswith(f'{tree / "panoVIPSeg_categories.json"}: the dataset tree lists 6 '
                              'categories, VIPSegDataset has 124; only in the file: [')
    assert "'2:square'" in message and 'SyntheticVPSDataset' in message


def test_category_file_gives_the_synthetic_classes(tree):
    """A VideoPanopticDataset from the tree's category file reads exactly what the dedicated
    class reads."""
    generic = DATASETS.build(dict(
        type='VideoPanopticDataset', ann_file='train.txt', data_root=str(tree),
        categories_file='panoVIPSeg_categories.json', test_mode=True))
    dedicated = SyntheticVPSDataset(ann_file='train.txt', data_root=str(tree), test_mode=True)
    for key in ('classes', 'thing_classes', 'stuff_classes', 'palette', 'label2cat'):
        assert list(generic.metainfo[key]) == list(dedicated.metainfo[key]), key
    np.testing.assert_array_equal(generic.label_map, dedicated.label_map)
    assert len(generic) == len(dedicated) == 2
    np.testing.assert_array_equal(gt_of(generic, 1, 2), gt_of(dedicated, 1, 2))


def test_metainfo_gives_the_classes_by_position(tree):
    """``metainfo`` only: the category id of a class is its position in ``classes`` (the
    synthetic ids are 0..5 in this order)."""
    classes = ('sky', 'ground', 'square', 'wall', 'disc', 'triangle')
    dataset = VideoPanopticDataset(
        'train.txt', data_root=str(tree), test_mode=True,
        metainfo=dict(classes=classes, thing_classes=('square', 'disc', 'triangle')))
    assert dataset.metainfo['classes'] == ('square', 'disc', 'triangle', 'sky', 'ground',
                                           'wall')
    assert dataset.label2cat == [2, 4, 5, 0, 1, 3]
    dedicated = SyntheticVPSDataset(ann_file='train.txt', data_root=str(tree), test_mode=True)
    np.testing.assert_array_equal(gt_of(dataset), gt_of(dedicated))
    # another class list disagrees with the tree's category file
    with pytest.raises(FormatError, match='the dataset tree lists 6 categories, '
                       'VideoPanopticDataset has 6; only in the file: \\[.0:sky.*only in '
                       'VideoPanopticDataset: \\[.0:a.'):
        VideoPanopticDataset('train.txt', data_root=str(tree), test_mode=True,
                             metainfo=dict(classes=('a', 'b', 'c', 'd', 'e', 'f'),
                                           thing_classes=('c', )))


def test_a_subset_of_classes_from_a_category_file(tree):
    dataset = VideoPanopticDataset(
        'train.txt', data_root=str(tree), categories_file='panoVIPSeg_categories.json',
        metainfo=dict(classes=('disc', 'sky', 'ground')), test_mode=True)
    assert dataset.metainfo['thing_classes'] == ('disc', )
    gt = gt_of(dataset)
    assert set(np.unique(gt % 1000)) <= {0, 1, 2, 255}  # the other classes are void


def test_category_errors(tmp_path, tree):
    with pytest.raises(FormatError, match='cats.json: category ids listed twice: \\[1\\]'):
        check_categories([dict(id=1, name='a', isthing=0), dict(id=1, name='b', isthing=1)],
                         'cats.json')
    with pytest.raises(FormatError, match="cats.json: category 0 .* needs id, name and isthing"):
        check_categories([dict(id=1, name='a')], 'cats.json')
    with pytest.raises(ValueError, match='metainfo needs "classes"'):
        VideoPanopticDataset('train.txt', data_root=str(tree))
    with pytest.raises(ValueError, match="thing_classes \\['x'\\] are not in classes"):
        VideoPanopticDataset('train.txt', data_root=str(tree),
                             metainfo=dict(classes=('a', ), thing_classes=('x', )))
    # a thing with id 1 cannot be stored in VIPSeg's raw encoding (its values 200.. are void)
    cats = tmp_path / 'cats.json'
    cats.write_text(json.dumps([dict(id=0, name='sky', isthing=0),
                                dict(id=1, name='car', isthing=1)]))
    with pytest.raises(FormatError, match="cats.json: category 'car' \\(thing, id 1\\) cannot be "
                       'stored in the raw layout'):
        VideoPanopticDataset('train.txt', data_root=str(tree), categories_file=str(cats))

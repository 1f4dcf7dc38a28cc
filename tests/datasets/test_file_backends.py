"""Datasets, annotation loading and the format readers read through mmengine.fileio with
``backend_args`` (a dataset on remote storage works as in mmdet), keeping errors that name the
file."""
import numpy as np
import pytest
from mmengine.fileio import LocalBackend, register_backend

from mmvps.datasets.formats import FormatError, load_json, load_vipseg_raw
from mmvps.datasets.formats.io import current_backend_args, file_backend
from mmvps.datasets.synthetic import SyntheticVPSDataset, generate_synthetic_vps
from mmvps.datasets.transforms import LoadVideoPanopticAnnotations

PREFIX = 'memtest://'


class RemoteLike(LocalBackend):
    """A storage backend for ``memtest://<path>`` URIs that serves a local folder and records
    every access (stands in for petrel / S3)."""
    root = None
    calls = []

    def _local(self, path):
        path = str(path)
        assert path.startswith(PREFIX), f'not a backend path: {path}'
        self.calls.append(path)
        return path.replace(PREFIX, self.root + '/', 1)

    def get(self, filepath):
        return super().get(self._local(filepath))

    def get_text(self, filepath, encoding='utf-8'):
        return super().get_text(self._local(filepath), encoding)

    def exists(self, filepath):
        return super().exists(self._local(filepath))

    def isdir(self, filepath):
        return super().isdir(self._local(filepath))

    def isfile(self, filepath):
        return super().isfile(self._local(filepath))

    def list_dir_or_file(self, dir_path, list_dir=True, list_file=True, suffix=None,
                         recursive=False):
        return super().list_dir_or_file(self._local(dir_path), list_dir, list_file, suffix,
                                        recursive)


register_backend('mmvps_remote_like', RemoteLike, force=True, prefixes='memtest')
BACKEND_ARGS = dict(backend='mmvps_remote_like')


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp('remote')
    generate_synthetic_vps(str(root / 'synthetic'), 2, 1, 3)
    RemoteLike.root = str(root)
    return root


def test_dataset_and_annotations_load_through_the_backend(tree):
    RemoteLike.calls.clear()
    remote = SyntheticVPSDataset(ann_file='train.txt', data_root=f'{PREFIX}synthetic',
                                 backend_args=BACKEND_ARGS, test_mode=True)
    local = SyntheticVPSDataset(ann_file='train.txt', data_root=str(tree / 'synthetic'),
                                test_mode=True)
    assert len(remote) == len(local) == 2
    frame = remote.get_data_info(1)['images'][2]
    assert frame['img_path'].startswith(PREFIX) and frame['seg_map_path'].startswith(PREFIX)
    # the split file, the category file, the listings and the image headers were served
    assert f'{PREFIX}synthetic/train.txt' in RemoteLike.calls
    assert f'{PREFIX}synthetic/panoVIPSeg_categories.json' in RemoteLike.calls
    assert any(c.startswith(f'{PREFIX}synthetic/panomasks/') for c in RemoteLike.calls)
    loader = LoadVideoPanopticAnnotations(with_panoptic=True, backend_args=BACKEND_ARGS)
    RemoteLike.calls.clear()
    gt = loader(dict(frame))['gt_panoptic_seg']
    assert RemoteLike.calls == [frame['seg_map_path']]
    expected = LoadVideoPanopticAnnotations(with_panoptic=True)(
        dict(local.get_data_info(1)['images'][2]))['gt_panoptic_seg']
    np.testing.assert_array_equal(gt, expected)
    assert current_backend_args() is None  # the context ends with the call


def test_readers_keep_their_signatures_and_messages(tree):
    path = f'{PREFIX}synthetic/panomasks/missing/00000000.png'
    with file_backend(BACKEND_ARGS):
        assert load_json(f'{PREFIX}synthetic/panoVIPSeg_categories.json')[0]['name'] == 'sky'
        with pytest.raises(FormatError, match=f'^{path}: file not found$'):
            load_vipseg_raw(path)
    # a local path outside a file_backend block keeps the plain reader
    with pytest.raises(FormatError, match='file not found'):
        load_vipseg_raw(str(tree / 'synthetic' / 'nothing.png'))
    (tree / 'empty.png').write_bytes(b'')
    with file_backend(dict(backend='local')):
        with pytest.raises(FormatError, match='empty.png: empty file'):
            load_vipseg_raw(str(tree / 'empty.png'))


def test_missing_split_file_on_the_backend_names_it(tree):
    with pytest.raises(FormatError, match=f'{PREFIX}synthetic/nope.txt: split file not found'):
        SyntheticVPSDataset(ann_file='nope.txt', data_root=f'{PREFIX}synthetic',
                            backend_args=BACKEND_ARGS)

"""Cityscapes panoptic images with their raw neighbour frames from ``leftImg8bit_sequence``:
the image-level Fuse stage of VPSNet's weight chain (released ``configs/cityscapes/fuse.py``)."""
import os.path as osp
import re
from typing import Optional, Sequence

from mmvps.registry import DATASETS
from .base_video_panoptic_dataset import BaseVideoPanopticDataset, panoptic_metainfo
from .classes.cityscapes_vps import CITYSCAPES_PANOPTIC_CATEGORIES
from .formats import FormatError, load_json, read_cityscapes_vps_panoptic_json

# ``<city>_<seq>_<frame>_leftImg8bit.png`` (Cityscapes image and sequence frame names)
IMAGE_NAME = re.compile(r'^(.+)_(\d{6})_(\d{6})_leftImg8bit\.png$')


@DATASETS.register_module()
class CityscapesSequenceFuseDataset(BaseVideoPanopticDataset):
    """Cityscapes panoptic images, each with its raw neighbour frames as references.

    ``ann_file`` is the official panoptic JSON (``gtFine/cityscapes_panoptic_<split>.json`` of
    cityscapesScripts' ``csCreatePanopticImgs``; category ids are Cityscapes labelIds, the 19
    classes in the label order of Cityscapes-VPS, things first); images are
    ``data_prefix['img']/<city>/<file_name>``, ground truth ``data_prefix['seg']/<label
    file_name>`` (``seg_format='coco_panoptic'``), and the neighbours of image
    ``<city>_<seq>_<frame>`` are ``data_prefix['ref']/<city>/<city>_<seq>_<frame + k>_leftImg8bit
    .png`` for ``k`` in ``ref_offsets``. A missing neighbour stops loading with its path.

    Each image is a "video" of its annotated frame and its neighbours (``is_annotated=False``,
    no ground truth), frames in frame order. In training an integer index (``DefaultSampler``,
    ``RepeatDataset``) passes the annotated frame as ``key_frame_id``, so
    ``UniformRefFrameSample(num_ref_imgs=1, frame_range=max |k|, filter_key_img=True)`` draws
    the reference among the neighbours (the released code: -1 or +1, uniformly). In test mode
    the video runs through the online loop (``ref_offsets=(-1, )``: the previous raw frame is the
    reference, as released) and the metric scores the annotated frame only.

    Args:
        ann_file (str): the panoptic JSON.
        data_prefix (dict): ``img``, ``seg`` (optional) and ``ref`` folders.
        ref_offsets (Sequence[int]): neighbour frame offsets, non-zero. Defaults to (-1, 1).
    """

    CATEGORIES = CITYSCAPES_PANOPTIC_CATEGORIES
    METAINFO = panoptic_metainfo(CITYSCAPES_PANOPTIC_CATEGORIES)

    def __init__(self,
                 ann_file: str = '',
                 *,
                 data_prefix: Optional[dict] = None,
                 ref_offsets: Sequence[int] = (-1, 1),
                 **kwargs):
        offsets = tuple(int(k) for k in ref_offsets)
        if not offsets or 0 in offsets or len(set(offsets)) != len(offsets):
            raise ValueError(f'CityscapesSequenceFuseDataset: ref_offsets must be distinct '
                             f'non-zero frame offsets, got {tuple(ref_offsets)}')
        self.ref_offsets = offsets
        super().__init__(
            ann_file=ann_file,
            data_prefix=dict(img='leftImg8bit/train/', seg='gtFine/cityscapes_panoptic_train/',
                             ref='leftImg8bit_sequence/train/')
            if data_prefix is None else data_prefix,
            **kwargs)

    def load_videos(self):
        img_root, seg_root = self.data_prefix['img'], self.data_prefix.get('seg')
        ref_root = self.data_prefix.get('ref')
        if not ref_root:
            raise ValueError('CityscapesSequenceFuseDataset: data_prefix needs a "ref" folder '
                             '(leftImg8bit_sequence/<split>/)')
        data = load_json(self.ann_file)
        if isinstance(data, dict) and 'categories' in data:
            self.check_listed_categories(data['categories'], f'{self.ann_file} (categories)')
        listings = {}

        def listing(directory, what):
            if directory not in listings:
                if not self.isdir(directory):
                    raise FormatError(f'{directory}: {what} directory not found')
                listings[directory] = set(self.listdir(directory))
            return listings[directory]

        for entry in read_cityscapes_vps_panoptic_json(self.ann_file, data):
            name = entry['file_name']
            match = IMAGE_NAME.match(name)
            if match is None:
                raise FormatError(f'{self.ann_file}: image {name} is not named '
                                  '<city>_<seq>_<frame>_leftImg8bit.png')
            city, seq, frame = match.group(1), match.group(2), int(match.group(3))
            img_path = osp.join(img_root, city, name)
            if name not in listing(osp.join(img_root, city), 'image'):
                raise FormatError(f'{img_path}: image not found (listed in {self.ann_file})')
            seg_path = None
            if seg_root:
                seg_path = osp.join(seg_root, entry['label_file_name'])
                if osp.basename(seg_path) not in listing(osp.dirname(seg_path), 'label'):
                    raise FormatError(f'{seg_path}: label not found for image {img_path}')
            height, width = int(entry['height']), int(entry['width'])
            frames = [self.frame_info(img_path, seg_path, 'coco_panoptic', height, width,
                                      segments_info=entry['segments_info'],
                                      img_id=entry['image_id'])]
            for offset in self.ref_offsets:
                ref_name = f'{city}_{seq}_{frame + offset:06d}_leftImg8bit.png'
                ref_path = osp.join(ref_root, city, ref_name)
                if frame + offset < 0 or ref_name not in listing(osp.join(ref_root, city),
                                                                 'sequence'):
                    raise FormatError(f'{ref_path}: neighbour frame {offset:+d} of {img_path} '
                                      'not found (leftImg8bit_sequence)')
                frames.append(self.frame_info(ref_path, None, 'coco_panoptic', height, width,
                                              is_annotated=False, segments_info=[],
                                              img_id=None))
            yield f'{city}_{seq}_{frame:06d}', frames

    def prepare_data(self, idx):
        """Training with an integer index: the annotated frame is the key frame."""
        if self.test_mode or not isinstance(idx, int):
            return super().prepare_data(idx)
        info = self.get_data_info(idx)
        key = [i for i, frame in enumerate(info['images']) if frame['is_annotated']]
        return self.pipeline(dict(info, key_frame_id=key[0]))

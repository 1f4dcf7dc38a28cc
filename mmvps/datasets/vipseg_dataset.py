"""VIPSeg (Miao et al., CVPR 2022) in its raw layout or its 720P COCO-panoptic layout."""
import os.path as osp
from typing import Optional

from mmvps.registry import DATASETS
from .base_video_panoptic_dataset import BaseVideoPanopticDataset, panoptic_metainfo
from .classes.vipseg import CATEGORIES
from .formats import FormatError, load_json, read_vipseg_panoptic_json

LAYOUTS = {'.txt': 'raw', '.json': 'coco'}
DEFAULT_PREFIXES = {
    'raw': dict(img='imgs/', seg='panomasks/'),
    'coco': dict(img='images/', seg='panomasksRGB/'),
}


@DATASETS.register_module()
class VIPSegDataset(BaseVideoPanopticDataset):
    """VIPSeg video panoptic dataset (124 classes, 58 things).

    Two on-disk layouts, chosen by ``layout`` or else by the annotation file:

    * ``'raw'`` (``ann_file`` = ``train.txt`` / ``val.txt`` / ``test.txt``): frames
      ``imgs/<video>/<frame>.jpg`` and 16-bit masks ``panomasks/<video>/<frame>.png``
      (``seg_format='vipseg_raw'``, value 200 is void).
    * ``'coco'`` (``ann_file`` = ``panoptic_gt_VIPSeg_<split>.json``, the 720P conversion):
      frames ``images/<video>/<stem>.jpg`` and RGB masks ``panomasksRGB/<video>/<file_name>``
      with the JSON's ``segments_info`` (``seg_format='coco_panoptic'``).

    ``data_prefix`` defaults to the layout's folders; without a ``seg`` prefix (test split)
    frames load with ``seg_map_path=None``. Frame names are VSPW frame indices (step 3), so
    frames are listed and sorted, never counted.
    """

    CATEGORIES = CATEGORIES
    METAINFO = panoptic_metainfo(CATEGORIES)

    def __init__(self,
                 ann_file: str = '',
                 *,
                 layout: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 img_suffix: str = '.jpg',
                 **kwargs):
        inferred = LAYOUTS.get(osp.splitext(ann_file)[1])
        if layout is None:
            layout = inferred
        if layout not in DEFAULT_PREFIXES or inferred not in (None, layout):
            raise ValueError(f'{ann_file}: VIPSeg layout {layout!r} does not fit this annotation '
                             f'file (a .txt split file is the raw layout, a .json the coco one)')
        self.layout = layout
        self.img_suffix = img_suffix
        super().__init__(
            ann_file=ann_file,
            data_prefix=dict(DEFAULT_PREFIXES[layout] if data_prefix is None else data_prefix),
            **kwargs)

    CATEGORY_FILE = 'panoVIPSeg_categories.json'

    def load_videos(self):
        # both layouts keep VIPSeg's category file next to the annotation file
        self.check_category_file(osp.join(osp.dirname(self.ann_file), self.CATEGORY_FILE))
        if self.layout == 'raw':
            return self._load_raw_videos()
        return self._load_coco_videos()

    def _load_raw_videos(self):
        img_root, seg_root = self.data_prefix['img'], self.data_prefix.get('seg')
        for video in self.read_split_file(self.ann_file):
            img_dir = osp.join(img_root, video)
            names = self.list_files(img_dir, self.img_suffix, f'VIPSeg video {video} image')
            stems = [name[:-len(self.img_suffix)] for name in names]
            if seg_root:
                self.check_masks(osp.join(seg_root, video), stems, '.png', img_dir)
            height, width = self.image_size(osp.join(img_dir, names[0]))
            yield video, [
                self.frame_info(
                    osp.join(img_dir, name),
                    osp.join(seg_root, video, stem + '.png') if seg_root else None,
                    'vipseg_raw', height, width) for name, stem in zip(names, stems)
            ]

    def _load_coco_videos(self):
        img_root, seg_root = self.data_prefix['img'], self.data_prefix.get('seg')
        data = load_json(self.ann_file)
        # the 720P JSON carries the categories too (``panoptic_gt_VIPSeg_<split>.json``)
        if isinstance(data, dict) and 'categories' in data:
            self.check_listed_categories(data['categories'], f'{self.ann_file} (categories)')
        for video, annotations in read_vipseg_panoptic_json(self.ann_file, data).items():
            img_dir = osp.join(img_root, video)
            images = set(self.list_files(img_dir, self.img_suffix, f'VIPSeg video {video} image'))
            masks = set(self.listdir(osp.join(seg_root, video))) if seg_root and self.isdir(
                osp.join(seg_root, video)) else set()
            frames = []
            for ann in annotations:
                img_name = osp.splitext(ann['file_name'])[0] + self.img_suffix
                img_path = osp.join(img_dir, img_name)
                if img_name not in images:
                    raise FormatError(f'{img_path}: image not found (listed in {self.ann_file})')
                seg_path = None
                if seg_root:
                    seg_path = osp.join(seg_root, video, ann['file_name'])
                    if ann['file_name'] not in masks:
                        raise FormatError(f'{seg_path}: mask not found for image {img_path} '
                                          f'(listed in {self.ann_file})')
                if 'height' in ann:
                    height, width = ann['height'], ann['width']
                else:
                    height, width = self.image_size(img_path)
                frames.append(
                    self.frame_info(
                        img_path, seg_path, 'coco_panoptic', height, width,
                        segments_info=ann['segments_info'], img_id=ann['image_id']))
            yield video, frames

"""VIPER re-formatted for video panoptic segmentation by VPSNet (Kim et al., CVPR 2020)."""
import os.path as osp
from collections import defaultdict
from typing import Optional

from mmvps.registry import DATASETS
from .base_video_panoptic_dataset import BaseVideoPanopticDataset, panoptic_metainfo
from .classes.viper_vps import CATEGORIES
from .formats import FormatError, load_json, read_cityscapes_vps_panoptic_json


@DATASETS.register_module()
class VIPERVPSDataset(BaseVideoPanopticDataset):
    """VIPER-VPS (never released; the layout VPSNet's code reads): ``ann_file`` =
    ``viper_panoptic_<split>_video.json`` (COCO-panoptic ``images`` / ``annotations``), frames
    ``<split>/img/<seq>_<frame>.jpg`` and RGB ground truth ``<split>/panoptic_video/<file_name>``
    (``seg_format='coco_panoptic'``). Frames are grouped into videos by the VIPER sequence
    prefix ``<seq>`` of their file name. 23 classes, 10 things (inferred list, see
    ``classes/viper_vps.py``). Without a ``seg`` prefix frames load with ``seg_map_path=None``.

    The JSON's ``categories`` must agree with the class list on ids and ``isthing`` (they
    decide the labels: a mismatch stops); as the list is inferred, names that differ only warn,
    so a real file with other spellings still loads.
    """

    CATEGORIES = CATEGORIES
    METAINFO = panoptic_metainfo(CATEGORIES)

    def __init__(self, ann_file: str = '', *, data_prefix: Optional[dict] = None, **kwargs):
        super().__init__(
            ann_file=ann_file,
            data_prefix=dict(img='val_day/img/', seg='val_day/panoptic_video/')
            if data_prefix is None else data_prefix,
            **kwargs)

    def load_videos(self):
        img_root, seg_root = self.data_prefix['img'], self.data_prefix.get('seg')
        for root, what in ((img_root, 'image'), (seg_root, 'label')):
            if root and not self.isdir(root):
                raise FormatError(f'{root}: {what} directory not found')
        image_files = set(self.listdir(img_root))
        label_files = set(self.listdir(seg_root)) if seg_root else set()
        videos = defaultdict(list)
        data = load_json(self.ann_file)
        if isinstance(data, dict) and 'categories' in data:
            self.check_listed_categories(data['categories'], f'{self.ann_file} (categories)',
                                         names_warn_only=True)
        for entry in read_cityscapes_vps_panoptic_json(self.ann_file, data):
            name = osp.basename(entry['file_name'])
            if '_' not in name:
                raise FormatError(f'{self.ann_file}: image {name} is not named <seq>_<frame>')
            img_path = osp.join(img_root, name)
            if name not in image_files:
                raise FormatError(f'{img_path}: image not found (listed in {self.ann_file})')
            seg_path = None
            if seg_root:
                label = osp.basename(entry['label_file_name'])
                seg_path = osp.join(seg_root, label)
                if label not in label_files:
                    raise FormatError(f'{seg_path}: label not found for image {img_path}')
            videos[name.split('_', 1)[0]].append(
                self.frame_info(img_path, seg_path, 'coco_panoptic', entry['height'],
                                entry['width'], segments_info=entry['segments_info'],
                                img_id=entry['image_id']))
        return sorted(videos.items())

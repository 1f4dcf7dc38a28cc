"""VSPW (Miao et al., CVPR 2021): video semantic segmentation, every frame annotated."""
import os.path as osp
from typing import Optional

from mmvps.registry import DATASETS
from .base_video_panoptic_dataset import BaseVideoPanopticDataset, panoptic_metainfo
from .classes.vspw import CATEGORIES
from .formats import FormatError, load_json
from .formats.io import file_backend


@DATASETS.register_module()
class VSPWDataset(BaseVideoPanopticDataset):
    """VSPW (``VSPW_480p``): ``ann_file`` = ``train.txt`` / ``val.txt`` / ``test.txt``, frames
    ``data/<video>/origin/<frame>.jpg`` and 8-bit masks ``data/<video>/mask/<frame>.png``.

    Semantic only (124 classes, no things): raw 1..124 is class ``raw - 1``; 0 ("others"), 255
    and stray values above 124 (e.g. 252) are void (``seg_format='vspw'``). Without a ``seg``
    prefix (test split) frames load with ``seg_map_path=None``.
    """

    CATEGORIES = CATEGORIES
    METAINFO = panoptic_metainfo(CATEGORIES)
    IMG_FOLDER = 'origin'
    SEG_FOLDER = 'mask'

    def __init__(self,
                 ann_file: str = '',
                 *,
                 data_prefix: Optional[dict] = None,
                 img_suffix: str = '.jpg',
                 **kwargs):
        self.img_suffix = img_suffix
        super().__init__(
            ann_file=ann_file,
            data_prefix=dict(img='data/', seg='data/') if data_prefix is None else data_prefix,
            **kwargs)

    CATEGORY_FILE = 'label_num_dic_final.json'

    def load_videos(self):
        self.check_label_num_dic(osp.join(osp.dirname(self.ann_file), self.CATEGORY_FILE))
        img_root, seg_root = self.data_prefix['img'], self.data_prefix.get('seg')
        for video in self.read_split_file(self.ann_file):
            img_dir = osp.join(img_root, video, self.IMG_FOLDER)
            names = self.list_files(img_dir, self.img_suffix, f'VSPW video {video} image')
            stems = [name[:-len(self.img_suffix)] for name in names]
            seg_dir = osp.join(seg_root, video, self.SEG_FOLDER) if seg_root else None
            if seg_dir:
                self.check_masks(seg_dir, stems, '.png', img_dir)
            height, width = self.image_size(osp.join(img_dir, names[0]))
            yield video, [
                self.frame_info(
                    osp.join(img_dir, name),
                    osp.join(seg_dir, stem + '.png') if seg_dir else None, 'vspw', height, width)
                for name, stem in zip(names, stems)
            ]

    def check_label_num_dic(self, path: str) -> None:
        """VSPW's category file ``{"others": "0", "wall": "1", ...}`` (name -> raw value, 0 is
        void) next to the split file, when there, must name this dataset's classes
        (id = raw value - 1, all stuff)."""
        if not self.isfile(path):
            return
        with file_backend(self.backend_args):
            raw = load_json(path)
        if not isinstance(raw, dict) or not all(
                isinstance(v, (str, int)) and str(v).isdigit() for v in raw.values()):
            raise FormatError(f'{path}: expected {{"name": "raw value", ...}} with integer values')
        listed = [dict(id=int(v) - 1, name=name, isthing=0) for name, v in raw.items()
                  if int(v) > 0]
        self.check_listed_categories(listed, path)

"""KITTI-STEP and MOTChallenge-STEP (Weber et al., NeurIPS 2021 Datasets), deeplab2 layout."""
import os.path as osp
from typing import Optional, Sequence

from mmvps.registry import DATASETS
from .base_video_panoptic_dataset import BaseVideoPanopticDataset, panoptic_metainfo
from .classes.kitti_step import CATEGORIES as KITTI_STEP_CATEGORIES
from .classes.motchallenge_step import CATEGORIES as MOTCHALLENGE_STEP_CATEGORIES
from .formats import FormatError


@DATASETS.register_module()
class KITTISTEPDataset(BaseVideoPanopticDataset):
    """KITTI-STEP: frames ``images/<split>/<seq %04d>/<frame %06d>.png`` and 3-channel panoptic
    maps ``panoptic_maps/<split>/<seq>/<frame>.png`` (R = trainId, 255 void; track id =
    G * 256 + B; ``seg_format='step'``).

    Only person (11) and car (13) carry track ids, so they are the thing classes; a car or person
    pixel with track id 0 is crowd. Every sequence folder under the image prefix is a video
    unless ``sequences`` names some; no ``ann_file``. Without a ``seg`` prefix (test split)
    frames load with ``seg_map_path=None``.
    """

    CATEGORIES = KITTI_STEP_CATEGORIES
    METAINFO = panoptic_metainfo(CATEGORIES)
    DEFAULT_IMG_SUFFIX = '.png'

    def __init__(self,
                 *,
                 data_prefix: Optional[dict] = None,
                 sequences: Optional[Sequence[str]] = None,
                 img_suffix: Optional[str] = None,
                 **kwargs):
        self.sequences = None if sequences is None else list(sequences)
        self.img_suffix = img_suffix or self.DEFAULT_IMG_SUFFIX
        super().__init__(
            data_prefix=dict(img='images/train/', seg='panoptic_maps/train/')
            if data_prefix is None else data_prefix,
            **kwargs)

    def load_videos(self):
        img_root, seg_root = self.data_prefix['img'], self.data_prefix.get('seg')
        if not self.isdir(img_root):
            raise FormatError(f'{img_root}: image directory not found')
        sequences = self.sequences
        if sequences is None:
            sequences = sorted(self.listdir(img_root, list_dir=True))
            if not sequences:
                raise FormatError(f'{img_root}: no sequence folders')
        for seq in sequences:
            img_dir = osp.join(img_root, seq)
            names = self.list_files(img_dir, self.img_suffix, f'sequence {seq} image')
            stems = [name[:-len(self.img_suffix)] for name in names]
            seg_dir = osp.join(seg_root, seq) if seg_root else None
            if seg_dir:
                self.check_masks(seg_dir, stems, '.png', img_dir)
            height, width = self.image_size(osp.join(img_dir, names[0]))
            yield seq, [
                self.frame_info(
                    osp.join(img_dir, name),
                    osp.join(seg_dir, stem + '.png') if seg_dir else None, 'step', height, width)
                for name, stem in zip(names, stems)
            ]


@DATASETS.register_module()
class MOTChallengeSTEPDataset(KITTISTEPDataset):
    """MOTChallenge-STEP: the KITTI-STEP layout and encoding with MOTS ``.jpg`` frames and 7
    classes, of which only person (4) is tracked. deeplab2 trains on sequence ``0009`` and
    validates on ``0002`` (both under ``train``): pick them with ``sequences``."""

    CATEGORIES = MOTCHALLENGE_STEP_CATEGORIES
    METAINFO = panoptic_metainfo(CATEGORIES)
    DEFAULT_IMG_SUFFIX = '.jpg'

"""Cityscapes-VPS (Kim et al., CVPR 2020): 500 Cityscapes snippets of 30 frames, every 5th
frame annotated (VPSNet layout, ``data/cityscapes_vps``)."""
import os
import os.path as osp
import re
from collections import Counter, defaultdict
from typing import Optional

from mmvps.registry import DATASETS
from .base_video_panoptic_dataset import BaseVideoPanopticDataset, panoptic_metainfo
from .classes.cityscapes_vps import CATEGORIES
from .formats import (FormatError, cityscapes_vps_image_id, cityscapes_vps_label_name,
                      is_json_int, load_json, read_cityscapes_vps_panoptic_json)

# ``VVVV_GGGG_<city>_<seq>_<frame>_<suffix>.png``: video, global annotated-frame index, the
# Cityscapes sequence frame it copies, and the suffix (the 20th frame keeps ``leftImg8bit``).
ANNOTATED_NAME = re.compile(r'^(\d{4})_(\d{4})_(.+_\d+_\d+)_(newImg8bit|leftImg8bit)\.png$')
# ``img_all`` frames keep the Cityscapes sequence names ``<city>_<seq>_<frame>_leftImg8bit.png``.
SEQUENCE_NAME = re.compile(r'^(.+_\d+)_(\d+)_leftImg8bit\.png$')
ANNOTATED_FORMATS = ('cityscapes_labelmap_rle', 'cityscapes_panoptic_inst', 'coco_panoptic')


@DATASETS.register_module()
class CityscapesVPSDataset(BaseVideoPanopticDataset):
    """Cityscapes-VPS. What ``ann_file`` lists decides how frames are read:

    * **annotated frames** (``images`` named ``VVVV_GGGG_<city>_<seq>_<frame>_{newImg8bit,
      leftImg8bit}.png``, e.g. ``instances_train_city_vps_rle.json``, ``panoptic_im_<split>_city_
      vps.json``, ``panoptic_gt_<split>_city_vps.json``): frames under ``<split>/img/``, one video
      per ``VVVV``, all ``is_annotated``. Ground truth by ``seg_format``:
      ``'cityscapes_labelmap_rle'`` (default: trainId ``labelmap`` PNG + the RLE instance masks
      of ``ann_file``, track id ``inst_id``), ``'cityscapes_panoptic_inst'`` (16-bit
      ``panoptic_inst`` PNG) or ``'coco_panoptic'`` (``panoptic_video`` PNG + the ``segments_
      info`` of ``ann_file``). Label files replace ``newImg8bit`` by ``final_mask`` and
      ``leftImg8bit`` by ``gtFine_color``.
    * **whole snippets** (``im_all_info_<split>_city_vps.json``, ``images`` named
      ``<city>_<seq>_<frame>_leftImg8bit.png`` under ``<split>/img_all/``): consecutive groups of
      ``frames_per_video`` frames in name order are the videos (as VPSNet tests). The annotated
      frames are those of ``panoptic_ann`` (``panoptic_gt_<split>_city_vps.json``, with
      ``panoptic_video`` ground truth, or the image list ``panoptic_im_test_city_vps.json``),
      matched by their ``<city>_<seq>_<frame>``; they get ``is_annotated=True``, their official
      ``img_id`` and, when the JSON has annotations and a ``seg`` prefix is given, their
      ground truth. Videos are then named ``VVVV``; without ``panoptic_ann`` by their first frame.

    Frames without ground truth (test splits, frames between the annotated ones) load with
    ``seg_map_path=None``.
    """

    CATEGORIES = CATEGORIES
    METAINFO = panoptic_metainfo(CATEGORIES)

    def __init__(self,
                 ann_file: str = '',
                 *,
                 panoptic_ann: Optional[str] = None,
                 seg_format: Optional[str] = None,
                 frames_per_video: int = 30,
                 data_prefix: Optional[dict] = None,
                 **kwargs):
        if seg_format is not None and seg_format not in ANNOTATED_FORMATS:
            raise ValueError(f'seg_format must be one of {ANNOTATED_FORMATS}, got {seg_format!r}')
        self.panoptic_ann = panoptic_ann
        self.seg_format = seg_format
        self.frames_per_video = frames_per_video
        super().__init__(
            ann_file=ann_file,
            data_prefix=dict(img='train/img/', seg='train/labelmap/')
            if data_prefix is None else data_prefix,
            **kwargs)

    def load_videos(self):
        data = load_json(self.ann_file)
        images = data.get('images') if isinstance(data, dict) else None
        if not images:
            raise FormatError(f'{self.ann_file}: no images listed')
        for im in images:
            if (not isinstance(im, dict) or not isinstance(im.get('file_name'), str)
                    or im.get('id') is None or isinstance(im['id'], bool)):
                raise FormatError(f'{self.ann_file}: each image needs an id and a file_name, got '
                                  f'{im!r}')
        images = sorted(images, key=lambda im: im['file_name'])
        names = [im['file_name'] for im in images]
        annotated = all(ANNOTATED_NAME.match(n) for n in names)
        if not annotated and any(ANNOTATED_NAME.match(n) for n in names):
            raise FormatError(f'{self.ann_file}: mixes annotated frame names (VVVV_GGGG_...) '
                              'with sequence frame names')
        bad = [n for n in names if not (annotated or SEQUENCE_NAME.match(n))]
        if bad:
            raise FormatError(f'{self.ann_file}: image {bad[0]} is neither an annotated frame '
                              '(VVVV_GGGG_<city>_<seq>_<frame>_<suffix>.png) nor a sequence '
                              'frame (<city>_<seq>_<frame>_leftImg8bit.png)')
        for key, what in (('file_name', 'image file'), ('id', 'image id')):
            twice = [k for k, n in Counter(im[key] for im in images).items() if n > 1]
            if twice:
                raise FormatError(f'{self.ann_file}: {what} {twice[0]!r} is listed twice')
        if annotated:
            return self._load_annotated_videos(data, images)
        return self._load_snippets(images)

    def _listing(self, directory: str, what: str) -> set:
        if not osp.isdir(directory):
            raise FormatError(f'{directory}: {what} directory not found')
        return set(os.listdir(directory))

    def _frame_size(self, im: dict, img_path: str):
        if 'height' in im and 'width' in im:
            return int(im['height']), int(im['width'])
        return self.image_size(img_path)

    # ---------------------------------------------------------------- annotated frames
    def _load_annotated_videos(self, data: dict, images: list):
        seg_format = self.seg_format or 'cityscapes_labelmap_rle'
        img_root, seg_root = self.data_prefix['img'], self.data_prefix.get('seg')
        image_files = self._listing(img_root, 'image')
        label_files = self._listing(seg_root, 'label') if seg_root else set()
        if seg_format == 'cityscapes_labelmap_rle':
            per_image = self._rle_instances(data, images)
        elif seg_format == 'coco_panoptic':
            per_image = {
                e['file_name']: e['segments_info']
                for e in read_cityscapes_vps_panoptic_json(self.ann_file)
            }
        videos = defaultdict(list)
        for im in images:
            name = im['file_name']
            img_path = osp.join(img_root, name)
            if name not in image_files:
                raise FormatError(f'{img_path}: image not found (listed in {self.ann_file})')
            seg_path = None
            if seg_root:
                label = cityscapes_vps_label_name(name)
                seg_path = osp.join(seg_root, label)
                if label not in label_files:
                    raise FormatError(f'{seg_path}: label not found for image {img_path}')
            extra = {}
            if seg_format == 'cityscapes_labelmap_rle':
                extra['instances'] = per_image[im['id']]
            elif seg_format == 'coco_panoptic':
                extra['segments_info'] = per_image[name]
            height, width = self._frame_size(im, img_path)
            videos[ANNOTATED_NAME.match(name).group(1)].append(
                self.frame_info(img_path, seg_path, seg_format, height, width,
                                img_id=cityscapes_vps_image_id(name), **extra))
        return sorted(videos.items())

    def _rle_instances(self, data: dict, images: list) -> dict:
        """``image id -> [dict(category_id, inst_id, iscrowd, mask)]`` of a COCO instances JSON
        with RLE masks."""
        per_image = {im['id']: [] for im in images}
        for ann in data.get('annotations', []):
            missing = [k for k in ('image_id', 'category_id', 'inst_id', 'segmentation')
                       if k not in ann]
            if missing:
                raise FormatError(f'{self.ann_file}: annotation {ann.get("id")} lacks {missing}')
            if ann['image_id'] not in per_image:
                raise FormatError(f'{self.ann_file}: annotation {ann.get("id")} refers to unknown '
                                  f'image {ann["image_id"]}')
            bad = [k for k in ('category_id', 'inst_id') if not is_json_int(ann[k])]
            if bad or ann.get('iscrowd', 0) not in (0, 1) or ann['segmentation'] is None:
                raise FormatError(f'{self.ann_file}: annotation {ann.get("id")} needs integer '
                                  f'category_id and inst_id, iscrowd 0 or 1 and a segmentation, '
                                  f'got {ann!r:.200}')
            per_image[ann['image_id']].append(
                dict(category_id=int(ann['category_id']), inst_id=int(ann['inst_id']),
                     iscrowd=int(ann.get('iscrowd', 0)), mask=ann['segmentation']))
        return per_image

    # ---------------------------------------------------------------- whole snippets
    def _annotated_frames(self):
        """``panoptic_ann``'s path and its frames as ``<city>_<seq>_<frame> -> dict(video,
        img_id, label, segments_info)``."""
        path = self.panoptic_ann
        if not osp.isabs(path):
            path = osp.join(self.data_root, path)
        data = load_json(path)
        if isinstance(data, dict) and 'annotations' in data:
            entries = read_cityscapes_vps_panoptic_json(path)
        elif isinstance(data, dict) and data.get('images'):
            if self.data_prefix.get('seg'):
                raise FormatError(f'{path}: has no annotations, but a seg prefix asks for ground '
                                  'truth')
            entries = [dict(image_id=cityscapes_vps_image_id(im['file_name']),
                            file_name=im['file_name'], label_file_name=None, segments_info=None)
                       for im in data['images']]
        else:
            raise FormatError(f'{path}: lists neither images nor annotations')
        annotated = {}
        for entry in entries:
            match = ANNOTATED_NAME.match(entry['file_name'] or '')
            if not match:
                raise FormatError(f'{path}: {entry["file_name"]} is not an annotated frame name '
                                  '(VVVV_GGGG_<city>_<seq>_<frame>_<suffix>.png)')
            if match.group(3) in annotated:
                raise FormatError(f'{path}: frame {match.group(3)} is annotated twice')
            annotated[match.group(3)] = dict(
                video=match.group(1), img_id=entry['image_id'], label=entry['label_file_name'],
                segments_info=entry['segments_info'])
        return path, annotated

    def _load_snippets(self, images: list):
        if self.seg_format not in (None, 'coco_panoptic'):
            raise ValueError(f'{self.ann_file}: whole snippets take their ground truth from '
                             f'panoptic_video PNGs (coco_panoptic), not {self.seg_format}')
        img_root, seg_root = self.data_prefix['img'], self.data_prefix.get('seg')
        n = self.frames_per_video
        if len(images) % n:
            raise FormatError(f'{self.ann_file}: {len(images)} images are not whole snippets of '
                              f'{n} frames')
        ann_path, annotated = self._annotated_frames() if self.panoptic_ann else (None, {})
        image_files = self._listing(img_root, 'image')
        label_files = self._listing(seg_root, 'label') if seg_root else set()
        matched, videos = set(), []
        for start in range(0, len(images), n):
            snippet = images[start:start + n]
            keys = [im['file_name'].rsplit('_', 1)[0] for im in snippet]
            parsed = [SEQUENCE_NAME.match(im['file_name']).groups() for im in snippet]
            first = int(parsed[0][1])
            if parsed != [(parsed[0][0], f'{first + i:0{len(parsed[0][1])}d}')
                          for i in range(len(parsed))]:
                raise FormatError(f'{self.ann_file}: frames {start}..{start + n - 1} '
                                  f'({keys[0]}..{keys[-1]}) are not {n} consecutive frames of '
                                  'one sequence')
            owners = {annotated[k]['video'] for k in keys if k in annotated}
            if ann_path and len(owners) != 1:
                raise FormatError(f'{ann_path}: snippet {keys[0]}..{keys[-1]} has annotated frames '
                                  f'of {len(owners)} videos {sorted(owners)}, expected one')
            frames = []
            for im, key in zip(snippet, keys):
                img_path = osp.join(img_root, im['file_name'])
                if im['file_name'] not in image_files:
                    raise FormatError(f'{img_path}: image not found (listed in {self.ann_file})')
                entry = annotated.get(key)
                seg_path = None
                if entry is not None:
                    matched.add(key)
                    if seg_root:
                        seg_path = osp.join(seg_root, entry['label'])
                        if entry['label'] not in label_files:
                            raise FormatError(f'{seg_path}: label not found for image {img_path}')
                height, width = self._frame_size(im, img_path)
                frames.append(
                    self.frame_info(
                        img_path, seg_path, 'coco_panoptic', height, width,
                        is_annotated=entry is not None,
                        segments_info=entry['segments_info'] if entry else None,
                        img_id=entry['img_id'] if entry else None))
            videos.append((owners.pop() if ann_path else keys[0], frames))
        unmatched = sorted(set(annotated) - matched)
        if unmatched:
            raise FormatError(f'{ann_path}: annotated frames {unmatched[:5]} are not among the '
                              f'img_all frames of {self.ann_file}')
        return videos

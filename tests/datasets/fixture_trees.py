"""Builders of tiny dataset trees in the exact official on-disk layouts (spec/datasets.md), for
tests of loaders, converters and exporters.

Ground truth is given per frame as ``(cat, inst)`` int arrays in the format's official category
ids (-1 void) and track ids (0 = stuff / crowd, >0 = track, docs/conventions.md §1), and is
written with the writers of ``mmvps.datasets.formats``; ``None`` means the frame has no mask
(test splits). Images are small random RGB pictures (JPEG or PNG by suffix) of the mask size, or
of ``image_sizes[stem]`` when given.
"""
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from mmvps.datasets.classes.cityscapes_vps import CATEGORIES as CITYSCAPES_CATEGORIES
from mmvps.datasets.classes.cityscapes_vps import CITYSCAPES_PANOPTIC_CATEGORIES
from mmvps.datasets.classes.viper_vps import CATEGORIES as VIPER_CATEGORIES
from mmvps.datasets.classes.vipseg import CATEGORIES as VIPSEG_CATEGORIES
from mmvps.datasets.classes.vspw import CATEGORIES as VSPW_CATEGORIES
from mmvps.datasets.formats import (cityscapes_vps_image_id, cityscapes_vps_label_name,
                                    cityscapes_vps_panoptic_json, dump_json,
                                    vipseg_panoptic_json, write_cityscapes_labelmap,
                                    write_cityscapes_panoptic_inst, write_coco_panoptic,
                                    write_step, write_vipseg_raw, write_vspw)

Maps = Optional[Tuple[np.ndarray, np.ndarray]]
Video = Dict[str, Maps]  # frame stem -> (cat, inst) or None

VIPSEG_THING_IDS = [c['id'] for c in VIPSEG_CATEGORIES if c['isthing']]
CITYSCAPES_THING_IDS = [c['id'] for c in CITYSCAPES_CATEGORIES if c['isthing']]
VIPER_THING_IDS = [c['id'] for c in VIPER_CATEGORIES if c['isthing']]


def maps(cat, inst=None) -> Tuple[np.ndarray, np.ndarray]:
    """``(cat, inst)`` int64 arrays from nested lists (``inst`` defaults to all 0)."""
    cat = np.asarray(cat, dtype=np.int64)
    inst = np.zeros_like(cat) if inst is None else np.asarray(inst, dtype=np.int64)
    return cat, inst


def write_image(path: str, height: int, width: int, seed: int = 0) -> None:
    """A random RGB picture (format from the suffix)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng([seed, height, width])
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)


def _size(gt: Maps, stem: str, image_sizes: Optional[dict], default=(6, 8)):
    if image_sizes and stem in image_sizes:
        return image_sizes[stem]
    return gt[0].shape if gt is not None else default


def write_split_file(path: str, names: Sequence[str]) -> None:
    """Video names one per line, ``\\n`` terminated (as the official lists)."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(f'{name}\n' for name in names)


# ------------------------------------------------------------------------------ VIPSeg
def make_vipseg_raw(root: str, splits: Dict[str, Dict[str, Video]],
                    image_sizes: Optional[dict] = None) -> None:
    """``<split>.txt``, ``imgs/<video>/<stem>.jpg``, 16-bit ``panomasks/<video>/<stem>.png``."""
    for split, videos in splits.items():
        write_split_file(osp.join(root, f'{split}.txt'), list(videos))
        for video, frames in videos.items():
            for stem, gt in frames.items():
                height, width = _size(gt, stem, image_sizes)
                write_image(osp.join(root, 'imgs', video, stem + '.jpg'), height, width)
                if gt is not None:
                    write_vipseg_raw(osp.join(root, 'panomasks', video, stem + '.png'), *gt)


def make_vipseg_720p(root: str, splits: Dict[str, Dict[str, Video]]) -> None:
    """``VIPSeg_720P``: ``<split>.txt``, ``panoVIPSeg_categories.json``, ``images/<video>/<stem>
    .jpg``, raw ``panomasks/`` and RGB ``panomasksRGB/<video>/<stem>.png`` plus
    ``panoptic_gt_VIPSeg_<split>.json`` for the splits with masks."""
    categories = [dict(c, color=list(c['color'])) for c in VIPSEG_CATEGORIES]
    dump_json(osp.join(root, 'panoVIPSeg_categories.json'), categories)
    for split, videos in splits.items():
        write_split_file(osp.join(root, f'{split}.txt'), list(videos))
        json_videos = []
        for video, frames in videos.items():
            json_frames = []
            for stem, gt in frames.items():
                height, width = _size(gt, stem, None)
                write_image(osp.join(root, 'images', video, stem + '.jpg'), height, width)
                if gt is None:
                    continue
                write_vipseg_raw(osp.join(root, 'panomasks', video, stem + '.png'), *gt)
                segments = write_coco_panoptic(
                    osp.join(root, 'panomasksRGB', video, stem + '.png'), *gt, VIPSEG_THING_IDS)
                json_frames.append(
                    dict(stem=stem, height=height, width=width, segments_info=segments))
            if json_frames:
                json_videos.append(dict(video_id=video, frames=json_frames))
        if json_videos:
            dump_json(osp.join(root, f'panoptic_gt_VIPSeg_{split}.json'),
                      vipseg_panoptic_json(json_videos, categories))


# ------------------------------------------------------------------------------ VSPW
def make_vspw(root: str, splits: Dict[str, Dict[str, Video]]) -> None:
    """``label_num_dic_final.json``, ``<split>.txt``, ``data/<video>/origin/<stem>.jpg``, 8-bit
    ``data/<video>/mask/<stem>.png`` (the ``inst`` map is ignored: VSPW is semantic)."""
    label_num_dic = {'others': '0'}
    label_num_dic.update((c['name'], str(c['id'] + 1)) for c in VSPW_CATEGORIES)
    dump_json(osp.join(root, 'label_num_dic_final.json'), label_num_dic)
    for split, videos in splits.items():
        write_split_file(osp.join(root, f'{split}.txt'), list(videos))
        for video, frames in videos.items():
            for stem, gt in frames.items():
                height, width = _size(gt, stem, None)
                write_image(osp.join(root, 'data', video, 'origin', stem + '.jpg'), height, width)
                if gt is not None:
                    write_vspw(osp.join(root, 'data', video, 'mask', stem + '.png'), gt[0])


# ------------------------------------------------------------------------------ STEP
def make_step(root: str, split: str, sequences: Dict[str, Video], img_suffix: str = '.png',
              image_sizes: Optional[dict] = None) -> None:
    """``images/<split>/<seq>/<stem><img_suffix>`` and RGB ``panoptic_maps/<split>/<seq>/<stem>
    .png`` (KITTI-STEP: ``.png`` frames, MOTChallenge-STEP: ``.jpg``)."""
    for seq, frames in sequences.items():
        for stem, gt in frames.items():
            height, width = _size(gt, stem, image_sizes)
            write_image(osp.join(root, 'images', split, seq, stem + img_suffix), height, width)
            if gt is not None:
                write_step(osp.join(root, 'panoptic_maps', split, seq, stem + '.png'), *gt)


# ------------------------------------------------------------------------------ Cityscapes-VPS
def cityscapes_snippet(video: int, city: str, seq: int, last_frame: int):
    """Names of one Cityscapes-VPS snippet: the 30 ``img_all`` frames (20th frame ``last_frame``
    - 10) and the 6 annotated images ``VVVV_GGGG_<city>_<seq>_<frame>_<suffix>.png`` (frames 5,
    10, .., 30; the 20th keeps ``leftImg8bit``)."""
    numbers = list(range(last_frame - 29, last_frame + 1))
    img_all = [f'{city}_{seq:06d}_{n:06d}_leftImg8bit.png' for n in numbers]
    annotated = []
    for j, n in enumerate(numbers[4::5], start=1):
        suffix = 'leftImg8bit' if j == 4 else 'newImg8bit'
        annotated.append(f'{video:04d}_{(video - 1) * 6 + j:04d}_{city}_{seq:06d}_{n:06d}_'
                         f'{suffix}.png')
    return img_all, annotated


def _rle_annotations(image_id: int, cat: np.ndarray, inst: np.ndarray, first_id: int) -> list:
    """COCO instance annotations (RLE) of the thing tracks of one frame, VPSNet fields."""
    anns = []
    for c, i in sorted({(int(c), int(i)) for c, i in zip(cat[inst > 0], inst[inst > 0])}):
        mask = np.asfortranarray((cat == c) & (inst == i)).astype(np.uint8)
        rle = mask_utils.encode(mask)
        rle['counts'] = rle['counts'].decode('ascii')
        x, y, w, h = mask_utils.toBbox(rle).tolist()
        anns.append(dict(id=first_id + len(anns), image_id=image_id, category_id=c,
                         inst_id=c * 1000 + i - 1, iscrowd=0, area=int(mask.sum()),
                         bbox=[x, y, w, h], segmentation=rle))
    return anns


def make_cityscapes_vps(root: str, split: str, videos: Dict[int, dict],
                        with_gt: bool = True) -> None:
    """A Cityscapes-VPS split. ``videos`` maps the video number ``VVVV`` to ``dict(city, seq,
    last_frame, gt=[6 x (cat, inst)])`` (trainIds, -1 void; ``inst`` the object index + 1).

    Writes ``<split>/img/`` (annotated frames), ``<split>/img_all/`` (30 frames each) and
    ``im_all_info_<split>_city_vps.json``; with ``with_gt`` also ``<split>/labelmap/``,
    ``<split>/panoptic_inst/``, ``<split>/panoptic_video/``, ``panoptic_gt_<split>_city_vps.json``
    and ``instances_<split>_city_vps_rle.json``; without it ``panoptic_im_<split>_city_vps.json``
    (the image list).
    """
    # as VPSNet's city_default.CATEGORIES, copied into every official JSON (upstream spelling)
    categories = [dict(c, name='vegitation' if c['name'] == 'vegetation' else c['name'],
                       trainid=c['id'], color=list(c['color'])) for c in CITYSCAPES_CATEGORIES]
    all_images, gt_frames, rle_images, rle_anns, listed = [], [], [], [], []
    for video, spec in sorted(videos.items()):
        img_all, annotated = cityscapes_snippet(video, spec['city'], spec['seq'],
                                                spec['last_frame'])
        height, width = spec['gt'][0][0].shape
        for name in img_all:
            write_image(osp.join(root, split, 'img_all', name), height, width)
            all_images.append(dict(id=len(all_images), file_name=name, width=width, height=height))
        for name, (cat, inst) in zip(annotated, spec['gt']):
            write_image(osp.join(root, split, 'img', name), height, width)
            listed.append(dict(id=cityscapes_vps_image_id(name), file_name=name, width=width,
                               height=height))
            if not with_gt:
                continue
            label = cityscapes_vps_label_name(name)
            write_cityscapes_labelmap(osp.join(root, split, 'labelmap', label), cat)
            write_cityscapes_panoptic_inst(osp.join(root, split, 'panoptic_inst', label), cat, inst)
            segments = write_coco_panoptic(
                osp.join(root, split, 'panoptic_video', label), cat, inst, CITYSCAPES_THING_IDS)
            gt_frames.append(dict(file_name=name, height=height, width=width,
                                  segments_info=segments))
            image_id = int(name[:9])  # int('VVVV_GGGG') == VVVV * 10000 + GGGG
            rle_images.append(dict(id=image_id, file_name=name, width=width, height=height))
            rle_anns += _rle_annotations(image_id, cat, inst, first_id=len(rle_anns) + 1)
    dump_json(osp.join(root, f'im_all_info_{split}_city_vps.json'),
              dict(images=all_images, categories=categories))
    if with_gt:
        dump_json(osp.join(root, f'panoptic_gt_{split}_city_vps.json'),
                  cityscapes_vps_panoptic_json(gt_frames, categories))
        dump_json(osp.join(root, f'instances_{split}_city_vps_rle.json'),
                  dict(images=rle_images, annotations=rle_anns,
                       categories=[c for c in categories if c['isthing']]))
    else:
        dump_json(osp.join(root, f'panoptic_im_{split}_city_vps.json'),
                  dict(images=listed, categories=categories))


def make_cityscapes_panoptic(root: str, split: str, images: Dict[str, Maps],
                             offsets: Sequence[int] = (-1, 1)) -> None:
    """Cityscapes panoptic images (``csCreatePanopticImgs`` layout) with their raw neighbours.
    ``images`` maps ``<city>_<seq>_<frame>`` to ``(cat, inst)`` in Cityscapes labelIds.

    Writes ``leftImg8bit/<split>/<city>/<id>_leftImg8bit.png``,
    ``gtFine/cityscapes_panoptic_<split>/<id>_gtFine_panoptic.png``,
    ``gtFine/cityscapes_panoptic_<split>.json`` (string image ids, labelId categories) and the
    neighbours ``leftImg8bit_sequence/<split>/<city>/<city>_<seq>_<frame + k>_leftImg8bit.png``
    for ``k`` in ``offsets``; every picture's random seed is its frame number.
    """
    thing_ids = [c['id'] for c in CITYSCAPES_PANOPTIC_CATEGORIES if c['isthing']]
    listed, annotations = [], []
    for image_id, (cat, inst) in sorted(images.items()):
        city, seq, frame = image_id.rsplit('_', 2)
        height, width = cat.shape
        name = f'{image_id}_leftImg8bit.png'
        write_image(osp.join(root, 'leftImg8bit', split, city, name), height, width, int(frame))
        for k in offsets:
            write_image(osp.join(root, 'leftImg8bit_sequence', split, city,
                                 f'{city}_{seq}_{int(frame) + k:06d}_leftImg8bit.png'),
                        height, width, int(frame) + k)
        label = f'{image_id}_gtFine_panoptic.png'
        segments = write_coco_panoptic(
            osp.join(root, 'gtFine', f'cityscapes_panoptic_{split}', label), cat, inst,
            thing_ids)
        listed.append(dict(id=image_id, file_name=name, height=height, width=width))
        annotations.append(dict(image_id=image_id, file_name=label, segments_info=segments))
    categories = [dict(id=c['id'], name=c['name'], isthing=c['isthing'],
                       color=list(c['color'])) for c in CITYSCAPES_PANOPTIC_CATEGORIES]
    dump_json(osp.join(root, 'gtFine', f'cityscapes_panoptic_{split}.json'),
              dict(images=listed, annotations=annotations, categories=categories))


# ------------------------------------------------------------------------------ VIPER-VPS
def make_viper_vps(root: str, split: str, sequences: Dict[str, Video],
                   json_name: Optional[str] = None) -> None:
    """``<split>/img/<seq>_<frame>.jpg``, RGB ``<split>/panoptic_video/<seq>_<frame>.png`` and
    ``viper_panoptic_<split>_video.json`` (flat COCO-panoptic ``images`` / ``annotations``)."""
    images, annotations = [], []
    for seq, frames in sequences.items():
        for stem, (cat, inst) in frames.items():
            height, width = cat.shape
            name = f'{seq}_{stem}'
            write_image(osp.join(root, split, 'img', name + '.jpg'), height, width)
            segments = write_coco_panoptic(
                osp.join(root, split, 'panoptic_video', name + '.png'), cat, inst,
                VIPER_THING_IDS)
            images.append(dict(id=name, file_name=name + '.jpg', width=width, height=height))
            annotations.append(dict(image_id=name, file_name=name + '.png',
                                    segments_info=segments))
    dump_json(osp.join(root, json_name or f'viper_panoptic_{split}_video.json'),
              dict(images=images, annotations=annotations,
                   categories=[dict(c, color=list(c['color'])) for c in VIPER_CATEGORIES]))


# ------------------------------------------------------------------------------ reading back
def load_frames(dataset, video_index: int) -> list:
    """Every frame of one video through ``LoadImageFromFile`` and
    ``LoadVideoPanopticAnnotations(with_panoptic=True)``."""
    from mmcv.transforms import LoadImageFromFile

    from mmvps.datasets.transforms import LoadVideoPanopticAnnotations
    load_image, load_annotations = LoadImageFromFile(), LoadVideoPanopticAnnotations(True)
    return [load_annotations(load_image(frame))
            for frame in dataset.get_data_info(video_index)['images']]

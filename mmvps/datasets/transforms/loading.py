"""Loading one frame's video panoptic annotations (docs/conventions.md §4)."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
from mmdet.structures.mask import BitmapMasks
from pycocotools import mask as mask_utils

from mmvps.registry import TRANSFORMS
from mmvps.structures.panoptic import IGNORE_INDEX, INSTANCE_OFFSET
from ..formats import FormatError, load_cityscapes_labelmap, load_segmentation


@TRANSFORMS.register_module()
class LoadImageFromFile(MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` whose read errors name the file.

    An empty or undecodable image makes OpenCV fail with an assertion that names no file; in
    the ``mmvps`` scope this class replaces mmcv's (same name and arguments) and raises
    :class:`FormatError` with the path instead.
    """

    def transform(self, results: dict):
        path = results.get('img_path')
        try:
            out = super().transform(results)
        except FormatError:
            raise
        except Exception as err:  # noqa: B902 -- OpenCV / PIL / file backends all differ
            raise FormatError(f'{path}: unreadable, empty or corrupt image '
                              f'({type(err).__name__}: {str(err).strip()})') from err
        return out


@TRANSFORMS.register_module()
class LoadVideoPanopticAnnotations(BaseTransform):
    """Load the panoptic ground truth of one frame in training labels.

    The frame's file is decoded by the reader of its ``seg_format`` (``mmvps.datasets.formats``)
    into official category ids and track ids, and the ids are mapped through the frame's
    ``label_map``; categories outside the dataset's classes become void. Thing pixels with a
    track id are instances; thing pixels without one are crowd: they keep their class in
    ``gt_seg_map`` but are no instance. Track ids on stuff are dropped.

    A frame without ground truth (``seg_map_path=None``: test splits, Cityscapes-VPS frames
    between the annotated ones) gets all-void maps and no instances at the image size, so that
    every frame of a sample carries the same keys; ``is_annotated`` tells such frames apart.

    Required keys: ``seg_map_path``, ``seg_format``, ``label_map``, ``num_things``, ``height``,
    ``width`` (``ori_shape`` and ``img_path`` when the image is loaded first),
    ``segments_info`` (``coco_panoptic``), ``instances`` (``cityscapes_labelmap_rle``).

    Added keys: ``gt_seg_map`` (uint8, 255 void), ``gt_masks`` (BitmapMasks of the tracks),
    ``gt_bboxes`` (HorizontalBoxes), ``gt_bboxes_labels`` (int64), ``gt_instances_ids``
    (int64 ``label + track_id * 1000``: unique per object within a video, even across classes),
    ``gt_ignore_flags`` (bool, all False) and, with ``with_panoptic``, ``gt_panoptic_seg`` (int64
    ``label + track_id * 1000``, 255 void, crowd with track id 0).

    Args:
        with_panoptic (bool): Also add ``gt_panoptic_seg`` (test pipelines). Defaults to False.
    """

    def __init__(self, with_panoptic: bool = False) -> None:
        self.with_panoptic = with_panoptic

    def transform(self, results: dict) -> dict:
        height, width = results['height'], results['width']
        if 'ori_shape' in results and tuple(results['ori_shape'][:2]) != (height, width):
            raise FormatError(
                f'{results.get("img_path")}: image is {results["ori_shape"][0]}x'
                f'{results["ori_shape"][1]} but the dataset records {height}x{width} (frames of a '
                f'video share one size)')
        label_map, num_things = results['label_map'], results['num_things']
        if results.get('seg_map_path') is None:
            sem = np.full((height, width), IGNORE_INDEX, dtype=np.int64)
            inst = np.zeros_like(sem)
        else:
            cat, inst = self._decode(results)
            path = results['seg_map_path']
            if cat.shape != (height, width):
                raise FormatError(
                    f'{path}: mask is {cat.shape[0]}x{cat.shape[1]} but image '
                    f'{results.get("img_path")} is {height}x{width}')
            if cat.max(initial=-1) + 1 >= len(label_map):
                raise FormatError(f'{path}: category id {int(cat.max())} is not a category of '
                                  'the dataset')
            sem = label_map[cat + 1]
            inst = np.where(sem < num_things, inst, 0)
        pan = sem + inst * INSTANCE_OFFSET
        track_ids = np.unique(pan[inst > 0])
        masks = BitmapMasks((pan[None] == track_ids[:, None, None]).astype(np.uint8), height,
                            width)
        results['gt_seg_map'] = sem.astype(np.uint8)
        results['gt_masks'] = masks
        results['gt_bboxes'] = masks.get_bboxes(dst_type='hbox')
        results['gt_bboxes_labels'] = track_ids % INSTANCE_OFFSET
        results['gt_instances_ids'] = track_ids
        results['gt_ignore_flags'] = np.zeros(len(track_ids), dtype=bool)
        if self.with_panoptic:
            results['gt_panoptic_seg'] = pan
        return results

    @staticmethod
    def _decode(results: dict):
        """``(cat, inst)`` of the frame's ground truth in official ids (-1 void)."""
        seg_format, path = results['seg_format'], results['seg_map_path']
        if seg_format == 'cityscapes_labelmap_rle':
            return _load_labelmap_with_rle(path, results['instances'])
        if seg_format == 'coco_panoptic':
            label_map, num_things = results['label_map'], results['num_things']
            return load_segmentation(
                path, seg_format, results['segments_info'],
                thing_ids=np.flatnonzero(label_map[1:] < num_things))
        return load_segmentation(path, seg_format)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(with_panoptic={self.with_panoptic})'


def _load_labelmap_with_rle(path: str, instances: list):
    """Cityscapes-VPS training ground truth: the classes of the ``labelmap`` PNG and the tracks
    of the instance JSON's RLE masks (track id ``inst_id % 1000 + 1``, where the labelmap has the
    instance's class). Thing pixels outside every mask, and crowd annotations, stay crowd."""
    cat, _ = load_cityscapes_labelmap(path)
    inst = np.zeros_like(cat)
    for obj in instances:
        if obj['iscrowd']:
            continue
        rle = obj['mask']
        if isinstance(rle.get('counts'), list):
            rle = mask_utils.frPyObjects(rle, *rle['size'])
        mask = mask_utils.decode(rle).astype(bool)
        if mask.shape != cat.shape:
            raise FormatError(f'{path}: labelmap is {cat.shape[0]}x{cat.shape[1]} but the RLE mask '
                              f'of instance {obj["inst_id"]} is {mask.shape[0]}x{mask.shape[1]}')
        inst[mask & (cat == obj['category_id'])] = obj['inst_id'] % 1000 + 1
    return cat, inst

"""Frame-level transforms that video samples need beyond mmdet's."""
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import FilterAnnotations
from mmdet.structures.bbox import autocast_box_type

from mmvps.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FilterTrackAnnotations(FilterAnnotations):
    """Drop the instances that a crop or resize cut away from a frame, together with their
    track ids.

    mmdet's ``RandomCrop`` keeps an instance whose clipped box still touches the crop even when
    its mask has no pixel left there, and mmdet's ``FilterAnnotations`` leaves
    ``gt_instances_ids`` out of sync; this filter removes the masks, boxes, labels, ignore flags
    and track ids of the same instances, keeps the ids of the others unchanged, and never drops
    the frame (its stuff still supervises the model). Run it after the spatial transforms,
    inside the same ``TransformBroadcaster`` or a later one.

    Args:
        min_gt_bbox_wh (tuple[float]): boxes must be wider and taller than this, when
            ``by_box``. Defaults to (1, 1).
        min_gt_mask_area (int): masks need this many pixels, when ``by_mask``. Defaults to 1.
        by_box (bool): filter by box size. Defaults to False.
        by_mask (bool): filter by mask area. Defaults to True.
    """

    def __init__(self,
                 min_gt_bbox_wh: Tuple[float, float] = (1, 1),
                 min_gt_mask_area: int = 1,
                 by_box: bool = False,
                 by_mask: bool = True) -> None:
        super().__init__(min_gt_bbox_wh=min_gt_bbox_wh, min_gt_mask_area=min_gt_mask_area,
                         by_box=by_box, by_mask=by_mask, keep_empty=False)

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Remove the instances failing the size tests from every instance-level key."""
        for key, needed in (('gt_bboxes', True), ('gt_masks', self.by_mask)):
            if needed and key not in results:
                raise KeyError(f'{results.get("img_path")}: {self!r} needs {key}; load the '
                               'annotations first')
        gt_bboxes = results['gt_bboxes']
        keep = np.ones(len(gt_bboxes), dtype=bool)
        if self.by_box:
            keep &= ((gt_bboxes.widths > self.min_gt_bbox_wh[0]) &
                     (gt_bboxes.heights > self.min_gt_bbox_wh[1])).numpy()
        if self.by_mask:
            keep &= results['gt_masks'].areas >= self.min_gt_mask_area
        for key in ('gt_bboxes', 'gt_bboxes_labels', 'gt_masks', 'gt_ignore_flags',
                    'gt_instances_ids'):
            if key in results:
                results[key] = results[key][np.flatnonzero(keep)]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_gt_bbox_wh={self.min_gt_bbox_wh}, '
                f'min_gt_mask_area={self.min_gt_mask_area}, by_box={self.by_box}, '
                f'by_mask={self.by_mask})')


@TRANSFORMS.register_module()
class FilterAssociationFreeClips(BaseTransform):
    """Reject a training clip (return None, so the dataset draws another sample) when a frame
    keeps fewer than ``min_things`` thing instances after cropping, or, with
    ``require_shared_id``, when its frames share no instance id: such clips give the association
    losses nothing to learn. The official Video K-Net code does this in its crop
    (``allow_negative_crop=False``, ``check_id_match=True``). Crowd instances
    (``gt_ignore_flags``) do not count. Run it after the frame transforms (outside the
    ``TransformBroadcaster``), before packing.

    Args:
        min_things (int): thing instances each frame must keep.
        require_shared_id (bool): the frames must share at least one instance id.
    """

    def __init__(self, min_things: int = 1, require_shared_id: bool = True) -> None:
        self.min_things = min_things
        self.require_shared_id = require_shared_id

    def transform(self, results: dict) -> Optional[dict]:
        if 'gt_instances_ids' not in results:
            raise KeyError(f'{results.get("img_path")}: {self!r} needs gt_instances_ids; load '
                           'the video annotations first')
        flags = results.get('gt_ignore_flags')
        frame_ids = []
        for i, ids in enumerate(results['gt_instances_ids']):
            ids = np.asarray(ids)
            if flags is not None:
                ids = ids[~np.asarray(flags[i], dtype=bool)]
            if len(ids) < self.min_things:
                return None
            frame_ids.append(set(ids.tolist()))
        if self.require_shared_id and frame_ids and not set.intersection(*frame_ids):
            return None
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_things={self.min_things}, '
                f'require_shared_id={self.require_shared_id})')

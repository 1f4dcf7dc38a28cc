"""Panoptic training targets of K-Net kernels.

A K-Net image has ``num_proposals`` thing kernels, matched one-to-one to the thing ground truth by
the Hungarian algorithm on mask (and class) costs, followed by one kernel per stuff class, which
is always responsible for its own class (K-Net's panoptic assignment). Void, crowd and padding
pixels belong to no ground-truth segment; they are removed from every mask cost and loss.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.structures import IGNORE_INDEX

# logit that makes sigmoid exactly 0 in float32: ignored pixels add nothing to BCE, Dice or costs
_SUPPRESSED_LOGIT = -1e4


def thing_gt_tensors(gt_instances: InstanceData, num_thing_classes: int,
                     source: str) -> Tuple[Tensor, Tensor]:
    """The thing ground truth of one frame as tensors: ``labels`` (long ``[N]``) and ``masks``
    (bool ``[N, h, w]`` on the labels' device; ``BitmapMasks`` are converted). Raises
    ``ValueError`` naming ``source`` when the counts differ or a label is not a thing class."""
    labels = gt_instances.labels.long()
    masks = gt_instances.masks
    masks = masks.to_tensor(torch.bool, labels.device) if hasattr(masks, 'to_tensor') \
        else masks.to(device=labels.device, dtype=torch.bool)
    if len(labels) != len(masks):
        raise ValueError(f'{source}: {len(labels)} thing labels but {len(masks)} thing masks')
    bad = labels[(labels < 0) | (labels >= num_thing_classes)]
    if len(bad):
        raise ValueError(f'{source}: thing labels {bad.tolist()} outside '
                         f'0..{num_thing_classes - 1}; thing classes come first (conventions §1)')
    return labels, masks


def get_panoptic_gt(data_sample: DetDataSample,
                    num_thing_classes: int,
                    num_stuff_classes: int,
                    mask_size: Tuple[int, int],
                    soft_masks: bool = False,
                    downsample: str = 'majority') -> InstanceData:
    """Gather one image's panoptic ground truth at the kernels' mask resolution.

    Things come from ``gt_instances`` (``labels`` in ``0..num_thing_classes-1``, ``masks`` as
    ``BitmapMasks`` or a tensor, optional ``instances_ids``), stuff from ``gt_sem_seg`` (one
    segment per stuff class present). Everything is padded to ``batch_input_shape`` (padding is
    void) and downsampled to ``mask_size``: ``downsample='majority'`` (K-Net) keeps a pixel in a
    mask when most of its area is, ``'nearest'`` samples the padded maps at every
    ``stride``-th pixel, starting at pixel 0 (kMaX-DeepLab's ``gt[::4, ::4]``); with
    ``soft_masks`` (official K-Net code) masks keep the bilinear fraction in ``[0, 1]``.

    Returns:
        InstanceData: ``labels`` (long ``[G]``, things first in ``gt_instances`` order, then stuff
        in class order), ``masks`` (float 0/1 ``[G, h, w]``), ``instances_ids`` (GT track id of
        things; -1 for stuff and when the sample has none), and metainfo ``ignore_mask`` (bool
        ``[h, w]``: void, crowd and padding pixels, covered by no segment).
    """
    if downsample not in ('majority', 'nearest'):
        raise ValueError(f"get_panoptic_gt: downsample must be 'majority' or 'nearest', got "
                         f'{downsample!r}')
    meta = data_sample.metainfo
    source = meta.get('img_path', 'an image without img_path')
    num_classes = num_thing_classes + num_stuff_classes
    pad_h, pad_w = meta['batch_input_shape']
    gt_instances = data_sample.gt_instances
    labels, masks = thing_gt_tensors(gt_instances, num_thing_classes, source)
    device = labels.device
    instances_ids = gt_instances.get('instances_ids', labels.new_full(labels.shape, -1))
    instances_ids = torch.as_tensor(instances_ids, dtype=torch.long, device=device)
    _check_size(masks, pad_h, pad_w, source, 'instance masks')

    if 'gt_sem_seg' in data_sample:
        sem = data_sample.gt_sem_seg.sem_seg[0].to(device=device, dtype=torch.long)
        _check_size(sem, pad_h, pad_w, source, 'semantic map')
        if len(masks) and masks.shape[-2:] not in (sem.shape, (pad_h, pad_w)):
            raise ValueError(f'{source}: semantic map {tuple(sem.shape)} and instance masks '
                             f'{tuple(masks.shape[-2:])} differ in size')
        present = torch.unique(sem)
        bad = present[(present >= num_classes) & (present != IGNORE_INDEX)]
        if len(bad):
            raise ValueError(f'{source}: semantic labels {bad.tolist()} are neither a class '
                             f'(0..{num_classes - 1}) nor void ({IGNORE_INDEX})')
        sem = _pad(sem[None], pad_h, pad_w, IGNORE_INDEX)[0]
        stuff_labels = present[(present >= num_thing_classes) & (present < num_classes)]
        stuff_masks = sem[None] == stuff_labels[:, None, None]
        labels = torch.cat([labels, stuff_labels])
        masks = torch.cat([_pad(masks, pad_h, pad_w, 0), stuff_masks])
        instances_ids = torch.cat([instances_ids, instances_ids.new_full(stuff_labels.shape, -1)])
        ignore = ~masks.any(0)
    elif num_stuff_classes > 0:
        raise ValueError(f'{source}: no gt_sem_seg, but the model has {num_stuff_classes} stuff '
                         'classes (pack gt_seg_map for panoptic training)')
    else:  # instance segmentation: only the padding is void
        masks = _pad(masks, pad_h, pad_w, 0)
        ignore = torch.ones((pad_h, pad_w), dtype=torch.bool, device=device)
        ignore[:meta['img_shape'][0], :meta['img_shape'][1]] = False

    gt = InstanceData(
        metainfo=dict(ignore_mask=_downsample(ignore[None], mask_size, downsample)[0]))
    gt.labels = labels
    gt.masks = _downsample(masks, mask_size, 'soft' if soft_masks else downsample).float()
    gt.instances_ids = instances_ids
    return gt


def suppress_ignored(mask_preds: Tensor, ignore_mask: Tensor) -> Tensor:
    """Force mask logits ``[..., h, w]`` to background on ignored pixels (no gradient there)."""
    return mask_preds.masked_fill(ignore_mask, _SUPPRESSED_LOGIT)


def get_kernel_targets(mask_preds: Tensor, cls_scores: Optional[Tensor],
                       gt_instances: InstanceData, assigner, sampler, num_proposals: int,
                       num_thing_classes: int, num_classes: int) -> InstanceData:
    """Assign one image's kernels to its panoptic ground truth and build their targets.

    Args:
        mask_preds (Tensor): mask logits ``[K, h, w]`` (ignored pixels already suppressed),
            ``K = num_proposals + num_stuff_classes``.
        cls_scores (Tensor, optional): class logits ``[K, num_classes]``; None for the initial
            kernels, which are matched on masks only.
        gt_instances (InstanceData): from :func:`get_panoptic_gt`.
        assigner, sampler: mmdet ``HungarianAssigner`` and ``MaskPseudoSampler``.

    Returns:
        InstanceData with ``K`` rows: ``assigned_gt_inds`` (index into ``gt_instances``, -1 for
        unassigned), ``labels`` (``num_classes`` = background), ``label_weights``
        (``[K, num_classes]``: thing kernels learn thing classes, stuff kernel ``j`` only its own
        class) and ``mask_targets`` ``[K, h, w]``.
    """
    num_kernels = len(mask_preds)
    device = mask_preds.device
    thing_gt = torch.nonzero(gt_instances.labels < num_thing_classes).squeeze(1)
    stuff_gt = torch.nonzero(gt_instances.labels >= num_thing_classes).squeeze(1)

    pred_things = InstanceData(masks=mask_preds[:num_proposals])
    if cls_scores is not None:
        pred_things.scores = cls_scores[:num_proposals]
    gt_things = gt_instances[thing_gt]
    assign_result = assigner.assign(pred_things, gt_things)
    sampling_result = sampler.sample(assign_result, pred_things, gt_things)

    assigned_gt_inds = torch.full((num_kernels, ), -1, dtype=torch.long, device=device)
    assigned_gt_inds[sampling_result.pos_inds] = thing_gt[sampling_result.pos_assigned_gt_inds]
    stuff_kernels = num_proposals + gt_instances.labels[stuff_gt] - num_thing_classes
    assigned_gt_inds[stuff_kernels] = stuff_gt

    pos = assigned_gt_inds >= 0
    labels = torch.full((num_kernels, ), num_classes, dtype=torch.long, device=device)
    labels[pos] = gt_instances.labels[assigned_gt_inds[pos]]
    label_weights = mask_preds.new_zeros((num_kernels, num_classes))
    label_weights[:num_proposals, :num_thing_classes] = 1
    stuff_range = torch.arange(num_kernels - num_proposals, device=device)
    label_weights[num_proposals + stuff_range, num_thing_classes + stuff_range] = 1
    mask_targets = mask_preds.new_zeros(mask_preds.shape)
    mask_targets[pos] = gt_instances.masks[assigned_gt_inds[pos]]
    return InstanceData(
        assigned_gt_inds=assigned_gt_inds,
        labels=labels,
        label_weights=label_weights,
        mask_targets=mask_targets)


def _check_size(maps: Tensor, pad_h: int, pad_w: int, source: str, what: str) -> None:
    if maps.shape[-2] > pad_h or maps.shape[-1] > pad_w:
        raise ValueError(f'{source}: {what} {tuple(maps.shape[-2:])} larger than the batch '
                         f'input {(pad_h, pad_w)}')


def _pad(maps: Tensor, height: int, width: int, value: int) -> Tensor:
    """Pad ``[N, h, w]`` maps at the bottom/right to ``height x width``."""
    return F.pad(maps, (0, width - maps.shape[-1], 0, height - maps.shape[-2]), value=value)


def _downsample(masks: Tensor, size: Tuple[int, int], mode: str = 'majority') -> Tensor:
    """Resize boolean masks ``[N, H, W]``. ``'majority'``: a pixel is in a mask when most of its
    area is; ``'soft'``: the bilinear fraction itself; ``'nearest'``: output pixel ``i`` takes
    input pixel ``floor(i * H / h)`` (every stride-th pixel when the sizes divide)."""
    if len(masks) == 0:
        return masks.new_zeros((0, *size))
    if masks.shape[-2:] == tuple(size):
        return masks
    if mode == 'nearest':
        return F.interpolate(masks[None].float(), size=size, mode='nearest')[0] > 0.5
    resized = F.interpolate(masks[None].float(), size=size, mode='bilinear', align_corners=False)
    return resized[0] if mode == 'soft' else resized[0] > 0.5


def kernel_mask_losses(mask_preds: Tensor, batch_targets: List[InstanceData],
                       batch_gt_instances: List[InstanceData], loss_mask: nn.Module,
                       loss_dice: nn.Module) -> Tuple[Tensor, Tensor]:
    """Mask losses of the positive kernels of a batch.

    Args:
        mask_preds (Tensor): ``[B, K, h, w]`` logits with ignored pixels suppressed.
        batch_targets (list[InstanceData]): :func:`get_kernel_targets` of each image.
        batch_gt_instances (list[InstanceData]): :func:`get_panoptic_gt` of each image.
        loss_mask, loss_dice: BCE (averaged over the non-ignored pixels) and Dice losses.
    """
    targets = InstanceData.cat(batch_targets)
    pos = targets.assigned_gt_inds >= 0
    pos_preds = mask_preds.flatten(0, 1)[pos]
    if len(pos_preds) == 0:  # keep every parameter in the graph
        zero = mask_preds.sum() * 0
        return zero, zero
    num_valid = sum((~gt.ignore_mask).sum() * (t.assigned_gt_inds >= 0).sum()
                    for gt, t in zip(batch_gt_instances, batch_targets))
    pos_targets = targets.mask_targets[pos]
    return (loss_mask(pos_preds, pos_targets, avg_factor=num_valid.clamp(min=1).item()),
            loss_dice(pos_preds, pos_targets))

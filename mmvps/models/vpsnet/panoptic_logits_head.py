"""UPSNet's parameter-free panoptic head as VPSNet uses it (spec vpsnet.md §1.4)."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.registry import MODELS


def _mask_region(box: Tensor, height: int, width: int):
    """Pixel region of a pasted mask logit (official ``MaskTerm`` / ``MaskRemoval``): all four
    box coordinates truncated, x2 / y2 inclusive. Returns the box origin and size and the
    slices of the visible part, or None when nothing is visible."""
    x0, y0, x1, y1 = (int(v) for v in box.tolist())
    w, h = max(x1 - x0 + 1, 1), max(y1 - y0 + 1, 1)
    xs, xe = max(x0, 0), min(x0 + w, width)
    ys, ye = max(y0, 0), min(y0 + h, height)
    if xs >= xe or ys >= ye:
        return None
    return (x0, y0, w, h), (slice(ys, ye), slice(xs, xe))


def _seg_region(box: Tensor, height: int, width: int):
    """Pixel region of the semantic thing logits of an instance (official ``SegTerm``): x1 /
    y1 truncated, x2 / y2 rounded and inclusive."""
    x0, y0 = int(box[0]), int(box[1])
    x1, y1 = int(torch.round(box[2])) + 1, int(torch.round(box[3])) + 1
    return slice(max(y0, 0), min(y1, height)), slice(max(x0, 0), min(x1, width))


def paste_mask_logit(logit: Tensor, box: Tensor, height: int, width: int):
    """Resize a ``[h, w]`` mask logit bilinearly to ``box`` (see :func:`_mask_region`) and
    return ``(values, (rows, cols))`` of its visible part, or None."""
    region = _mask_region(box, height, width)
    if region is None:
        return None
    (x0, y0, w, h), (rows, cols) = region
    resized = F.interpolate(logit[None, None], size=(h, w), mode='bilinear',
                            align_corners=False)[0, 0]
    return resized[rows.start - y0:rows.stop - y0, cols.start - x0:cols.stop - x0], (rows, cols)


@MODELS.register_module()
class PanopticLogitsHead(BaseModule):
    """Parameter-free panoptic head: stuff logits of the semantic head plus, per instance, the
    semantic logits of its class inside its box and its pasted mask logit; the argmax assigns
    every pixel to a stuff class or to one instance (UPSNet without the "unknown" class).

    Training (:meth:`train_logits`, :meth:`train_target`, :meth:`loss`) works at stride 4 on
    the ground-truth boxes. Inference (:meth:`predict`) works at the output resolution: mask
    removal, the argmax, then the released code's post-processing (an instance whose pixels'
    semantic majority is a stuff class covering at least half of them becomes that stuff;
    stuff segments under ``stuff_area_limit`` pixels become void).

    Label order is mmvps' (things ``0..T-1`` first, then stuff): instance label ``k`` reads
    semantic channel ``k``; panoptic channel ``s < S`` is stuff class ``T + s``, channel ``S + i``
    is instance ``i``.

    Args:
        num_things (int): thing classes.
        num_stuff (int): stuff classes.
        overlap_thr (float): mask removal drops an instance when more than this fraction of
            its mask overlaps masks of its class kept before it. Defaults to 0.3.
        stuff_area_limit (int): smaller stuff segments become void. Defaults to 2048
            (the Cityscapes-VPS test setting).
        stuff_majority (float): share of an instance's pixels a stuff class needs to take it
            over. Defaults to 0.5.
        ignore_index (int): void target label. Defaults to 255.
        loss_weight (float): weight of ``loss_pano``. Defaults to 0.5 (released code).
    """

    def __init__(self,
                 num_things: int,
                 num_stuff: int,
                 overlap_thr: float = 0.3,
                 stuff_area_limit: int = 2048,
                 stuff_majority: float = 0.5,
                 ignore_index: int = 255,
                 loss_weight: float = 0.5,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_things = num_things
        self.num_stuff = num_stuff
        self.num_classes = num_things + num_stuff
        self.overlap_thr = overlap_thr
        self.stuff_area_limit = stuff_area_limit
        self.stuff_majority = stuff_majority
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight

    def _check(self, sem_logits: Tensor, mask_logits: Tensor, boxes: Tensor,
               labels: Tensor) -> None:
        if sem_logits.dim() != 3 or sem_logits.size(0) != self.num_classes:
            raise ValueError(f'PanopticLogitsHead: semantic logits must be [{self.num_classes}, '
                             f'H, W], got {tuple(sem_logits.shape)}')
        n = len(labels)
        if mask_logits.shape[0] != n or boxes.shape != (n, 4):
            raise ValueError(f'PanopticLogitsHead: {n} labels need [{n}, h, w] mask logits and '
                             f'[{n}, 4] boxes, got {tuple(mask_logits.shape)} and '
                             f'{tuple(boxes.shape)}')
        if n and (labels.min() < 0 or labels.max() >= self.num_things):
            raise ValueError(f'PanopticLogitsHead: instance labels must be thing labels '
                             f'0..{self.num_things - 1}, got {labels.tolist()}')

    def instance_logits(self, sem_logits: Tensor, mask_logit: Tensor, box: Tensor,
                        label: int) -> Tensor:
        """One instance channel ``[H, W]``: its class's semantic logits inside the box plus the
        pasted mask logit, 0 elsewhere (``box`` in this map's pixels)."""
        height, width = sem_logits.shape[-2:]
        channel = sem_logits.new_zeros(height, width)
        rows, cols = _seg_region(box, height, width)
        channel[rows, cols] = sem_logits[label, rows, cols]
        pasted = paste_mask_logit(mask_logit, box, height, width)
        if pasted is not None:
            values, (rows, cols) = pasted
            channel[rows, cols] = channel[rows, cols] + values
        return channel

    def train_logits(self, fcn_score: Tensor, mask_logits: Tensor, boxes: Tensor,
                     labels: Tensor) -> Tensor:
        """``[S + n, h, w]`` panoptic logits at stride 4 from ``fcn_score [C, h, w]``, the
        ``[n, 28, 28]`` mask logits of the ground-truth classes and the ``[n, 4]`` ground-truth
        boxes in input pixels."""
        self._check(fcn_score, mask_logits, boxes, labels)
        boxes = boxes / 4
        channels = [fcn_score[self.num_things:]]
        channels += [self.instance_logits(fcn_score, mask_logits[i], boxes[i], int(labels[i]))
                     [None] for i in range(len(labels))]
        return torch.cat(channels, dim=0)

    def train_target(self, gt_sem: Tensor, gt_masks: Tensor) -> Tensor:
        """``[h, w]`` target at stride 4 (every 4th pixel of the full-resolution maps): stuff
        pixels their stuff channel, pixels of mask ``i`` channel ``S + i``, void and thing pixels
        outside every mask ``ignore_index``."""
        sem = gt_sem[::4, ::4].long()
        target = torch.full_like(sem, self.ignore_index)
        is_stuff = (sem >= self.num_things) & (sem < self.num_classes)
        target[is_stuff] = sem[is_stuff] - self.num_things
        masks = gt_masks[:, ::4, ::4].bool()
        if masks.shape[-2:] != sem.shape:
            raise ValueError(f'PanopticLogitsHead.train_target: masks {tuple(gt_masks.shape)} '
                             f'and semantic map {tuple(gt_sem.shape)} differ in size')
        for i in range(len(masks)):
            target[masks[i]] = self.num_stuff + i
        return target

    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        """``loss_pano``: CE of ``[S + n, h, w]`` logits against the target (void ignored)."""
        if not (target != self.ignore_index).any():
            return logits.sum() * 0
        return F.cross_entropy(logits[None], target[None], ignore_index=self.ignore_index) \
            * self.loss_weight

    def mask_removal(self, mask_logits: Tensor, boxes: Tensor, labels: Tensor, height: int,
                     width: int) -> Tensor:
        """Indices of the instances kept, in the given (score) order: each mask is its pasted
        logit > 0; an instance is dropped when its mask is empty or more than ``overlap_thr``
        of it lies on masks of its class kept before it."""
        occupied = torch.zeros(self.num_things, height, width, dtype=torch.bool,
                               device=mask_logits.device)
        keep = []
        for i in range(len(labels)):
            pasted = paste_mask_logit(mask_logits[i], boxes[i], height, width)
            if pasted is None:
                continue
            values, (rows, cols) = pasted
            mask = values > 0
            area = int(mask.sum())
            label = int(labels[i])
            if area == 0 or (occupied[label, rows, cols] & mask).sum() / area > self.overlap_thr:
                continue
            occupied[label, rows, cols] |= mask
            keep.append(i)
        return torch.as_tensor(keep, dtype=torch.long, device=mask_logits.device)

    def predict(self, fcn_output: Tensor, mask_logits: Tensor, boxes: Tensor,
                labels: Tensor) -> Tuple[Tensor, Tensor]:
        """Panoptic segmentation of one image at the resolution of ``fcn_output [C, H, W]``.

        Args:
            fcn_output (Tensor): semantic logits.
            mask_logits (Tensor): ``[n, 28, 28]`` mask logits of the detected classes.
            boxes (Tensor): ``[n, 4]`` boxes in pixels of ``fcn_output``, by falling score.
            labels (Tensor): ``[n]`` thing labels.

        Returns:
            tuple[Tensor, Tensor]: ``sem [H, W]`` (class per pixel, void = ``num_classes``) and
            ``inst [H, W]`` (``k >= 1``: detection ``k - 1``; 0: stuff or void).
        """
        self._check(fcn_output, mask_logits, boxes, labels)
        height, width = fcn_output.shape[-2:]
        keep = self.mask_removal(mask_logits, boxes, labels, height, width)
        # argmax over [stuff channels, kept instance channels] without stacking them; strict
        # '>' keeps the first maximum like argmax (an instance channel is 0 outside its box)
        best, best_idx = fcn_output[self.num_things:].max(dim=0)
        best_idx = best_idx + self.num_things  # stuff class label
        inst = torch.zeros(height, width, dtype=torch.long, device=fcn_output.device)
        for i in keep.tolist():
            channel = self.instance_logits(fcn_output, mask_logits[i], boxes[i], int(labels[i]))
            wins = channel > best
            best = torch.where(wins, channel, best)
            inst[wins] = i + 1
        return self.post_process(fcn_output.argmax(dim=0), best_idx, inst, labels)

    def post_process(self, sem_argmax: Tensor, stuff_label: Tensor, inst: Tensor,
                     labels: Tensor) -> Tuple[Tensor, Tensor]:
        """Released post-processing of an argmax result.

        Args:
            sem_argmax (Tensor): ``[H, W]`` argmax of the semantic logits.
            stuff_label (Tensor): ``[H, W]`` stuff class of the pixels ``inst`` leaves at 0.
            inst (Tensor): ``[H, W]`` instance per pixel (``k >= 1`` = detection ``k - 1``).
            labels (Tensor): ``[n]`` detection labels.

        Returns:
            tuple[Tensor, Tensor]: ``sem [H, W]`` (void = ``num_classes``) and ``inst``.
        """
        sem = stuff_label.clone()
        inst = inst.clone()
        for k in torch.unique(inst).tolist():
            if k == 0:
                continue
            region = inst == k
            label = int(labels[k - 1])
            counts = torch.bincount(sem_argmax[region], minlength=self.num_classes)
            majority = int(counts.argmax())
            if (majority != label and majority >= self.num_things
                    and counts[majority] >= self.stuff_majority * counts.sum()):
                sem[region] = majority
                inst[region] = 0
            else:
                sem[region] = label
        void = self.num_classes
        for label in range(self.num_things, self.num_classes):
            area = sem == label
            if 0 < int(area.sum()) < self.stuff_area_limit:
                sem[area] = void
        return sem, inst

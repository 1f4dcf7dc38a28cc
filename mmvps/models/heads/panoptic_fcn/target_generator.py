"""Clip targets of PanopticFCN / Clip-PanoFCN (spec ``clip_panofcn.md`` sections 3.1-3.3): every
thing instance is one target across the T frames of a clip, with one validity flag per
(frame, level)."""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mmvps.registry import TASK_UTILS


def cornernet_radius(width: Tensor, height: Tensor, min_overlap: float = 0.7) -> Tensor:
    """Gaussian radius of PanopticFCN (the original CornerNet code): the smallest of the three
    roots ``(b + sqrt(b^2 - 4ac)) / 2``, **without** the division by ``2a`` that mmdet's
    ``gaussian_radius`` applies, so it is larger than mmdet's."""
    a1, b1 = 1., height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + torch.sqrt(b1**2 - 4 * a1 * c1)) / 2
    a2, b2 = 4., 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + torch.sqrt(b2**2 - 4 * a2 * c2)) / 2
    a3, b3 = 4 * min_overlap, -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + torch.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return torch.min(r1, torch.min(r2, r3))


def gaussian_kernel(radius: int, sigma: float) -> np.ndarray:
    """(2r+1)^2 Gaussian with peak 1, values below eps * max set to 0 (CenterNet's rule)."""
    y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    gauss = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    gauss[gauss < np.finfo(gauss.dtype).eps * gauss.max()] = 0
    return gauss


def draw_gaussian(heatmap: Tensor, x: int, y: int, radius: int, sigma_factor: float) -> None:
    """Max a Gaussian of ``radius`` and sigma ``(2r+1)/sigma_factor`` into ``heatmap`` [h, w]
    at column ``x``, row ``y`` (in place; the part outside the map is cut)."""
    gauss = torch.as_tensor(gaussian_kernel(radius, (2 * radius + 1) / sigma_factor),
                            dtype=heatmap.dtype, device=heatmap.device)
    h, w = heatmap.shape
    left, right = min(x, radius), min(w - x, radius + 1)
    top, bottom = min(y, radius), min(h - y, radius + 1)
    if right <= 0 or bottom <= 0 or left < 0 or top < 0:
        return
    region = heatmap[y - top:y + bottom, x - left:x + right]
    patch = gauss[radius - top:radius + bottom, radius - left:radius + right]
    torch.maximum(region, patch, out=region)


@TASK_UTILS.register_module()
class PanopticFCNTargetGenerator:
    """Targets of PanopticFCN for clips of T frames (T = 1: images).

    Input per clip (``gt``): ``masks`` bool/uint8 [K, T, H, W] (one row per non-crowd thing
    instance, empty in frames where it is absent; at the unpadded or padded input size),
    ``labels`` long [K] (thing labels ``0..num_things-1``), ``sem_seg`` long [T, H, W] in mmvps
    training labels (things first, then stuff, ``ignore_index`` void).

    * Stuff / region channels: 0 = any thing, ``1..num_stuff`` = stuff label - num_things + 1;
      void is dropped. One-hot -> bilinear to stride 4 (``round(H/4)``, top-left in the
      stride-4 canvas) -> per level bilinear, clamped to 1, values < 0.5 set to 0: the soft
      region target; a (class, frame) is positive at a level where it has a pixel > 0.
    * Things: masks bilinear to stride 4 (soft; the dice target). Box per frame from the mask
      (``max - min``, no +1, as the reference); level ``l`` takes the (instance, frame) whose
      ``sqrt(box area)`` lies in ``instance_scales[l]`` (closed ranges that overlap); the
      instance is a target at every level where any frame is assigned. Centre = mass centre
      of the stride-4 mask's non-zero pixels, rescaled to the level and floored; heatmap
      = max of Gaussians (radius :func:`cornernet_radius` of the box scaled to the level, cast
      to int; sigma = (2r+1) / ``sigma_factor``) in the class channel, in every frame where
      the stride-4 mask is not empty, at every level where the instance is a target (the
      reference also skips a centre that falls on the map's corner (0, 0); this does not).
    """

    def __init__(self,
                 num_things: int,
                 num_stuff: int,
                 instance_scales: Sequence[Tuple[float, float]] = ((1, 64), (32, 128), (64, 256),
                                                                   (128, 512), (256, 2048)),
                 min_overlap: float = 0.7,
                 sigma_factor: float = 3.,
                 mask_stride: int = 4,
                 ignore_index: int = 255) -> None:
        self.num_things = num_things
        self.num_stuff = num_stuff
        self.instance_scales = [tuple(s) for s in instance_scales]
        self.min_overlap = min_overlap
        self.sigma_factor = sigma_factor
        self.mask_stride = mask_stride
        self.ignore_index = ignore_index

    @property
    def num_levels(self) -> int:
        return len(self.instance_scales)

    def _to_stride(self, x: Tensor, canvas: Tuple[int, int]) -> Tensor:
        """Bilinear [N, C, H, W] -> [N, C, round(H/s), round(W/s)], placed top-left into a zero
        canvas of ``canvas`` size."""
        h, w = x.shape[-2:]
        new_h = int(h / self.mask_stride + 0.5)
        new_w = int(w / self.mask_stride + 0.5)
        if new_h > canvas[0] or new_w > canvas[1]:
            raise ValueError(f'PanopticFCNTargetGenerator: GT of size {(h, w)} does not fit the '
                             f'stride-{self.mask_stride} feature map {tuple(canvas)}')
        small = F.interpolate(x.float(), size=(new_h, new_w), mode='bilinear',
                              align_corners=False) if x.numel() else x.float().new_zeros(
                                  *x.shape[:2], new_h, new_w)
        out = small.new_zeros(*x.shape[:2], *canvas)
        out[..., :new_h, :new_w] = small
        return out

    def region_targets(self, sem_seg: Tensor, mask_shape: Tuple[int, int],
                       level_shapes: Sequence[Tuple[int, int]]) -> Dict[str, object]:
        """Stuff targets of one clip: ``sem`` [T, S+1, H4, W4] (soft stride-4 one-hot, the dice
        target) and per level ``region`` [T, S+1, h, w] (focal target) and ``region_pos``
        bool [T, S+1] (positives)."""
        sem = sem_seg.long()
        num_classes = self.num_things + self.num_stuff
        bad = (sem >= num_classes) & (sem != self.ignore_index) | (sem < 0)
        if bad.any():
            raise ValueError(f'PanopticFCNTargetGenerator: sem_seg holds labels '
                             f'{torch.unique(sem[bad]).tolist()}; expected labels '
                             f'0..{num_classes - 1} or {self.ignore_index}')
        region = torch.full_like(sem, self.num_stuff + 1)  # void: dropped after one-hot
        stuff = (sem >= self.num_things) & (sem < self.num_things + self.num_stuff)
        region[sem < self.num_things] = 0
        region[stuff] = sem[stuff] - self.num_things + 1
        onehot = F.one_hot(region, self.num_stuff + 2)[..., :-1].permute(0, 3, 1, 2)
        sem4 = self._to_stride(onehot, mask_shape)
        regions, positives = [], []
        for shape in level_shapes:
            target = F.interpolate(sem4, size=tuple(shape), mode='bilinear',
                                   align_corners=False).clamp(max=1.0)
            target[target < 0.5] = 0.
            regions.append(target)
            positives.append(target.flatten(2).sum(-1) > 0)
        return dict(sem=sem4, region=regions, region_pos=positives)

    def thing_targets(self, masks: Tensor, labels: Tensor, img_shape: Tuple[int, int],
                      mask_shape: Tuple[int, int],
                      level_shapes: Sequence[Tuple[int, int]]) -> Dict[str, object]:
        """Thing targets of one clip: ``masks`` [K, T, H4, W4] (soft stride-4), ``labels`` [K],
        per level ``center`` [T, num_things, h, w] and ``pos`` bool [K, T] (the (instance,
        frame) is a positive at that level)."""
        num_inst, num_frames = masks.shape[:2]
        masks4 = self._to_stride(masks, mask_shape)
        present = masks.flatten(2).any(-1)  # [K, T]
        boxes = masks.new_zeros(num_inst, num_frames, 2, dtype=torch.float32)  # (w, h)
        centers = masks4.new_zeros(num_inst, num_frames, 2)  # (x, y) at stride 4
        has_center = torch.zeros_like(present)  # the stride-4 mask is not empty
        for k in range(num_inst):
            for t in range(num_frames):
                if not present[k, t]:
                    continue
                ys, xs = torch.nonzero(masks[k, t], as_tuple=True)
                boxes[k, t, 0] = float(xs.max() - xs.min())
                boxes[k, t, 1] = float(ys.max() - ys.min())
                ys4, xs4 = torch.nonzero(masks4[k, t], as_tuple=True)
                if len(ys4):
                    has_center[k, t] = True
                    centers[k, t, 0] = xs4.float().mean()
                    centers[k, t, 1] = ys4.float().mean()
        scale = torch.sqrt(boxes[..., 0] * boxes[..., 1])
        img_h, img_w = img_shape
        heatmaps, positives = [], []
        for (low, high), (h, w) in zip(self.instance_scales, level_shapes):
            heatmap = masks4.new_zeros(num_frames, self.num_things, h, w)
            pos = present & (scale >= low) & (scale <= high)
            for k in torch.nonzero(pos.any(1)).flatten().tolist():
                for t in torch.nonzero(has_center[k]).flatten().tolist():
                    x = int(centers[k, t, 0] * w / mask_shape[1])
                    y = int(centers[k, t, 1] * h / mask_shape[0])
                    radius = cornernet_radius(boxes[k, t, 0] * w / img_w,
                                              boxes[k, t, 1] * h / img_h, self.min_overlap)
                    radius = int(max(float(radius), 0.))
                    draw_gaussian(heatmap[t, int(labels[k])], x, y, radius, self.sigma_factor)
            heatmaps.append(heatmap)
            positives.append(pos)
        return dict(masks=masks4, labels=labels.long(), center=heatmaps, pos=positives)

    def __call__(self, gts: List[dict], img_shape: Tuple[int, int], mask_shape: Tuple[int, int],
                 level_shapes: Sequence[Tuple[int, int]]) -> List[dict]:
        """Targets of a batch of clips.

        Args:
            gts (list[dict]): per clip ``masks``, ``labels``, ``sem_seg`` (see the class doc).
            img_shape (tuple): padded input size (H, W) of the batch.
            mask_shape (tuple): size of the stride-4 encoded features (H/4, W/4).
            level_shapes (list[tuple]): sizes of the head levels, one per instance scale.

        Returns:
            list[dict]: per clip the union of :meth:`thing_targets` and :meth:`region_targets`.
        """
        if len(level_shapes) != self.num_levels:
            raise ValueError(f'PanopticFCNTargetGenerator: {self.num_levels} instance_scales '
                             f'but {len(level_shapes)} head levels')
        targets = []
        for i, gt in enumerate(gts):
            for key in ('masks', 'labels', 'sem_seg'):
                if key not in gt:
                    raise KeyError(f'PanopticFCNTargetGenerator: clip {i} has no "{key}"')
            masks, sem_seg = gt['masks'], gt['sem_seg']
            if masks.dim() != 4 or masks.shape[1] != sem_seg.shape[0]:
                raise ValueError(f'PanopticFCNTargetGenerator: clip {i}: masks must be [K, T, H, '
                                 f'W] with T = {sem_seg.shape[0]} (sem_seg frames), got '
                                 f'{tuple(masks.shape)}')
            target = self.thing_targets(masks.bool(), gt['labels'], img_shape, mask_shape,
                                        level_shapes)
            target.update(self.region_targets(sem_seg, mask_shape, level_shapes))
            targets.append(target)
        return targets

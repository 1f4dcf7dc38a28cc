"""Mask-wise merging of kMaX-DeepLab, run jointly over the T frames of a clip.

Each query predicts a tube; the queries are ranked and pasted onto an empty ``[T, H, W]``
canvas once, so a segment keeps its id in every frame of the clip (Video-kMaX Sec. 3.1 with
kMaX-DeepLab's mask-wise post-processing). The semantic mode gives VSPW's per-pixel labels.
"""
from typing import Dict

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.registry import TASK_UTILS


@TASK_UTILS.register_module()
class ClipPanopticPostProcessor:
    """Turn one clip's class and mask logits into a panoptic (or semantic) clip prediction.

    Panoptic mode:

    1. class score / label of a query = its max softmax probability over the C real classes
       (void column dropped); mask probabilities = softmax over the N queries at every pixel;
       binary mask = probability > ``pixel_confidence_threshold``.
    2. mask score = mean probability over the query's binary pixels (whole tube); queries are
       ranked by ``class_score ** reorder_class_weight * mask_score ** reorder_mask_weight``.
    3. In that order a query is kept when its class score exceeds the thing / stuff threshold
       of its class and its not-yet-painted binary pixels are more than
       ``overlap_threshold`` x its binary area; only those free pixels are painted. A stuff
       query whose class is already painted joins that segment.
    4. Optionally (DeepLab2), per frame, thing segments with fewer than ``thing_area_limit``
       pixels and stuff classes with fewer than ``stuff_area_limit`` pixels become void;
       segments left with no pixel are dropped.

    Args:
        num_thing_classes (int): thing classes (labels ``0..num_thing_classes-1``).
        num_stuff_classes (int): stuff classes (the following labels).
        pixel_confidence_threshold (float): kMaX COCO 0.4, MaXTron VIPSeg 0.3.
        thing_threshold (float): class threshold of things (COCO 0.7, Cityscapes 0.5, VIPSeg 0.2).
        stuff_threshold (float): class threshold of stuff (COCO 0.5, Cityscapes 0.3, VIPSeg 0.3).
        overlap_threshold (float): COCO 0.8, Cityscapes 0.9.
        reorder_class_weight (float): exponent of the class score in the ranking.
        reorder_mask_weight (float): exponent of the mask score (Cityscapes 0).
        thing_area_limit (int): per-frame minimum thing area (0: off).
        stuff_area_limit (int): per-frame minimum stuff area (0: off).
        mode (str): ``'panoptic'`` or ``'semantic'`` (``argmax_c sum_n p_cls(n, c) p_mask(n)``,
            no segments).
    """

    def __init__(self,
                 num_thing_classes: int,
                 num_stuff_classes: int,
                 pixel_confidence_threshold: float = 0.4,
                 thing_threshold: float = 0.7,
                 stuff_threshold: float = 0.5,
                 overlap_threshold: float = 0.8,
                 reorder_class_weight: float = 1.0,
                 reorder_mask_weight: float = 1.0,
                 thing_area_limit: int = 0,
                 stuff_area_limit: int = 0,
                 mode: str = 'panoptic') -> None:
        if mode not in ('panoptic', 'semantic'):
            raise ValueError(f"ClipPanopticPostProcessor: mode must be 'panoptic' or "
                             f"'semantic', got {mode!r}")
        self.num_thing_classes = num_thing_classes
        self.num_classes = num_thing_classes + num_stuff_classes
        self.pixel_confidence_threshold = pixel_confidence_threshold
        self.thing_threshold = thing_threshold
        self.stuff_threshold = stuff_threshold
        self.overlap_threshold = overlap_threshold
        self.reorder_class_weight = reorder_class_weight
        self.reorder_mask_weight = reorder_mask_weight
        self.thing_area_limit = thing_area_limit
        self.stuff_area_limit = stuff_area_limit
        self.mode = mode

    @torch.no_grad()
    def __call__(self, class_logits: Tensor, mask_logits: Tensor) -> Dict:
        """Args:
            class_logits (Tensor): ``[N, C + 1]`` (last = void).
            mask_logits (Tensor): ``[N, T, H, W]`` at the output size.

        Returns:
            dict: ``sem_seg`` ``[T, H, W]`` long (void = C), ``segment_map`` ``[T, H, W]`` long
            (0 = no segment, k = segment k), ``segments`` (``InstanceData``: ``labels``,
            ``scores`` (class score of the query that opened the segment), ``query_inds``,
            ``is_thing``; row ``k - 1`` is segment ``k``).
        """
        if class_logits.dim() != 2 or class_logits.shape[1] != self.num_classes + 1:
            raise ValueError(f'ClipPanopticPostProcessor: class_logits must be [N, '
                             f'{self.num_classes + 1}] (C + 1 with void last), got '
                             f'{tuple(class_logits.shape)}')
        if mask_logits.dim() != 4 or len(mask_logits) != len(class_logits):
            raise ValueError(f'ClipPanopticPostProcessor: mask_logits must be [N, T, H, W] with '
                             f'N = {len(class_logits)}, got {tuple(mask_logits.shape)}')
        class_probs = class_logits.float().softmax(-1)[:, :-1]
        mask_probs = mask_logits.float().softmax(0)
        device = mask_logits.device
        if self.mode == 'semantic':
            sem_seg = torch.einsum('nc,nthw->cthw', class_probs, mask_probs).argmax(0)
            return dict(sem_seg=sem_seg, segment_map=torch.zeros_like(sem_seg),
                        segments=self._segments([], [], [], device))

        scores, labels = class_probs.max(-1)
        binary = mask_probs > self.pixel_confidence_threshold
        areas = binary.flatten(1).sum(1)
        mask_scores = mask_probs.mul_(binary).flatten(1).sum(1) / areas.clamp(min=1)
        del mask_probs
        rank = scores**self.reorder_class_weight * mask_scores**self.reorder_mask_weight
        order = torch.argsort(rank, descending=True, stable=True).tolist()

        segment_map = torch.zeros(mask_logits.shape[1:], dtype=torch.long, device=device)
        seg_labels, seg_scores, seg_queries, stuff_segment = [], [], [], {}
        for query in order:
            label, score = int(labels[query]), float(scores[query])
            is_thing = label < self.num_thing_classes
            if score <= (self.thing_threshold if is_thing else self.stuff_threshold):
                continue
            free = binary[query] & (segment_map == 0)
            if free.sum() <= areas[query] * self.overlap_threshold:
                continue
            if not is_thing and label in stuff_segment:
                segment_map[free] = stuff_segment[label]
                continue
            seg_labels.append(label)
            seg_scores.append(score)
            seg_queries.append(query)
            segment_map[free] = len(seg_labels)
            if not is_thing:
                stuff_segment[label] = len(seg_labels)

        if self.thing_area_limit > 0 or self.stuff_area_limit > 0:
            segment_map, keep = self._filter_small(segment_map, seg_labels)
            seg_labels = [seg_labels[k] for k in keep]
            seg_scores = [seg_scores[k] for k in keep]
            seg_queries = [seg_queries[k] for k in keep]
        segments = self._segments(seg_labels, seg_scores, seg_queries, device)
        lookup = torch.cat([segments.labels.new_tensor([self.num_classes]), segments.labels])
        return dict(sem_seg=lookup[segment_map], segment_map=segment_map, segments=segments)

    def _filter_small(self, segment_map: Tensor, seg_labels: list):
        """Void every segment's pixels in the frames where it is below its area limit, then drop
        the segments left empty and renumber the rest (order kept)."""
        num_segments = len(seg_labels)
        limits = segment_map.new_tensor([0] + [
            self.thing_area_limit if label < self.num_thing_classes else self.stuff_area_limit
            for label in seg_labels
        ])
        counts = torch.stack([torch.bincount(frame.flatten(), minlength=num_segments + 1)
                              for frame in segment_map])  # T x (S + 1)
        small = counts < limits
        segment_map = torch.where(small.gather(1, segment_map.flatten(1)).view_as(segment_map),
                                  0, segment_map)
        present = torch.bincount(segment_map.flatten(), minlength=num_segments + 1) > 0
        present[0] = True
        new_ids = torch.cumsum(present.long(), 0) - 1
        keep = [k - 1 for k in range(1, num_segments + 1) if present[k]]
        return new_ids[segment_map], keep

    def _segments(self, labels: list, scores: list, queries: list, device) -> InstanceData:
        labels = torch.tensor(labels, dtype=torch.long, device=device)
        return InstanceData(
            labels=labels,
            scores=torch.tensor(scores, dtype=torch.float32, device=device),
            query_inds=torch.tensor(queries, dtype=torch.long, device=device),
            is_thing=labels < self.num_thing_classes)

"""Trackers of VPSNet and of its baselines (spec vpsnet.md §3.3, §4).

They share one interface, called once per frame by :class:`VPSNet` (memory reset per video):
``update(frame_id, instances, flow=None) -> ids [n]``, where ``instances`` holds the frame's
panoptic detections by falling score (``bboxes [n, 4]``, ``labels [n]`` thing labels,
``scores [n]``, ``embeds [n, D]`` track embeddings, ``present [n]`` bool: the detection owns
pixels of the final panoptic map), ``segment_map [H, W]`` is that map's detection per pixel
(``k >= 1``: detection ``k - 1``, 0 none) and ``ids`` are track ids ``>= 1`` (0: no id). Only
things get ids; stuff has instance 0.
"""
from typing import Optional

import torch
from mmdet.models.task_modules.tracking import embed_similarity
from mmdet.models.trackers import MaskTrackRCNNTracker
from mmengine.structures import InstanceData
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mmvps.registry import MODELS


def _check_instances(name: str, instances: InstanceData, keys) -> None:
    missing = [key for key in keys if key not in instances]
    if missing:
        raise ValueError(f'{name}.update: instances lack {missing}')


def _score_order(scores: Tensor) -> Tensor:
    return torch.sort(scores, descending=True, stable=True)[1]


@MODELS.register_module()
class VPSNetTracker(MaskTrackRCNNTracker):
    """Online association of the released VPSNet code (MaskTrack R-CNN's score).

    The memory holds one slot per track (embedding, box, label), never pruned within a video.
    First frame (empty memory): ids in score order. Otherwise detection ``i`` scores slot ``j``
    with ``log_softmax_j([0, S_i]) + w_s log(score_i) + w_iou IoU(box_i, box_j) + w_label
    [label_i = label_j]`` (mmdet's ``get_match_score``; the "new object" column has IoU 0 and
    label term 1). In score order each detection takes its best column: "new" appends a slot;
    a slot is won by its highest claim so far, the earlier claimant losing it; the winner
    replaces the slot's embedding and box (not its label). Every detection left without a slot
    gets a new one. Unlike mmdet's tracker no claimant is dropped (the loser gets a new id)
    and tracks do not expire.

    Args:
        match_weights (dict): ``det_score``, ``iou``, ``det_label`` weights. Defaults to the
            released (1, 2, 10).
    """

    def __init__(self,
                 match_weights: dict = dict(det_score=1.0, iou=2.0, det_label=10.0)) -> None:
        super().__init__(match_weights=match_weights)
        self.reset()

    def reset(self) -> None:
        """Empty the memory (a new video)."""
        super().reset()
        self.memo_embeds: Optional[Tensor] = None
        self.memo_bboxes: Optional[Tensor] = None
        self.memo_labels: Optional[Tensor] = None

    @property
    def memory_size(self) -> int:
        return 0 if self.memo_labels is None else len(self.memo_labels)

    def _append(self, embeds: Tensor, bboxes: Tensor, labels: Tensor) -> None:
        if self.memo_labels is None:
            self.memo_embeds, self.memo_bboxes, self.memo_labels = \
                embeds.clone(), bboxes.clone(), labels.clone()
        else:
            self.memo_embeds = torch.cat([self.memo_embeds, embeds])
            self.memo_bboxes = torch.cat([self.memo_bboxes, bboxes])
            self.memo_labels = torch.cat([self.memo_labels, labels])

    def update(self, frame_id: int, instances: InstanceData, **kwargs) -> Tensor:
        """Track ids (slot + 1) of every detection of the frame (see the class docstring)."""
        _check_instances(type(self).__name__, instances, ('bboxes', 'labels', 'scores', 'embeds'))
        order = _score_order(instances.scores)
        embeds = instances.embeds[order].detach()
        bboxes = instances.bboxes[order].detach()
        labels = instances.labels[order]
        scores = instances.scores[order]
        num = len(order)
        slots = torch.full((num, ), -1, dtype=torch.long)
        if self.memory_size > 0 and num > 0:
            logits = embed_similarity(embeds, self.memo_embeds, method='dot_product')
            logits = torch.cat([logits.new_zeros(num, 1), logits], dim=1)
            scores_match = self.get_match_score(bboxes, labels, scores, self.memo_bboxes,
                                                self.memo_labels, logits)
            best = scores_match.argmax(dim=1).tolist()
            best_claim = [-float('inf')] * self.memory_size
            claimant = [-1] * self.memory_size
            for i, col in enumerate(best):
                if col == 0:
                    slots[i] = self.memory_size
                    self._append(embeds[i:i + 1], bboxes[i:i + 1], labels[i:i + 1])
                    continue
                slot, claim = col - 1, float(scores_match[i, col])
                if claim > best_claim[slot]:
                    if claimant[slot] >= 0:
                        slots[claimant[slot]] = -1
                    slots[i], best_claim[slot], claimant[slot] = slot, claim, i
                    self.memo_embeds[slot] = embeds[i]
                    self.memo_bboxes[slot] = bboxes[i]
        for i in torch.nonzero(slots < 0).squeeze(1).tolist():
            slots[i] = self.memory_size
            self._append(embeds[i:i + 1], bboxes[i:i + 1], labels[i:i + 1])
        ids = torch.zeros(num, dtype=torch.long)
        ids[order.cpu()] = slots + 1
        return ids.to(instances.labels.device)


@MODELS.register_module()
class PerFrameIdTracker:
    """No association (the Base / Fuse rows of VPSNet's Table 4): each frame numbers its
    present detections 1..n by falling score."""

    def reset(self) -> None:
        pass

    def update(self, frame_id: int, instances: InstanceData, **kwargs) -> Tensor:
        _check_instances(type(self).__name__, instances, ('scores', 'present'))
        ids = torch.zeros(len(instances.scores), dtype=torch.long,
                          device=instances.scores.device)
        present = torch.nonzero(instances.present).squeeze(1)
        order = present[_score_order(instances.scores[present])]
        ids[order] = torch.arange(1, len(order) + 1, device=ids.device)
        return ids


@MODELS.register_module()
class ClassSortTracker:
    """Cls-Sort baseline (mmvps' reading of the paper's "object sorting by classification
    logit values"): per frame and thing class, the present detections are ranked by class
    probability; class ``c`` and rank ``r`` (0-based) is the identity ``c * num_ranks + r + 1``
    in every frame.

    Args:
        num_ranks (int): more than the detections one class can have in a frame. Defaults to
            100 (the detector's maximum).
    """

    def __init__(self, num_ranks: int = 100) -> None:
        self.num_ranks = num_ranks

    def reset(self) -> None:
        pass

    def update(self, frame_id: int, instances: InstanceData, **kwargs) -> Tensor:
        _check_instances(type(self).__name__, instances, ('labels', 'scores', 'present'))
        labels, scores = instances.labels, instances.scores
        ids = torch.zeros(len(labels), dtype=torch.long, device=labels.device)
        for label in torch.unique(labels[instances.present]).tolist():
            members = torch.nonzero(instances.present & (labels == label)).squeeze(1)
            if len(members) > self.num_ranks:
                raise ValueError(f'ClassSortTracker: {len(members)} detections of class {label} '
                                 f'in frame {frame_id} exceed num_ranks={self.num_ranks}')
            ranked = members[_score_order(scores[members])]
            ids[ranked] = label * self.num_ranks + torch.arange(
                1, len(ranked) + 1, device=ids.device)
        return ids


def warp_id_map(id_map: Tensor, flow: Tensor) -> Tensor:
    """Nearest-neighbour backward warp of a ``[H, W]`` id map: pixel ``p`` of the result takes
    the id at ``p + flow(p)`` (``flow [2, H, W]`` = (dx, dy) in pixels, from the current frame to
    the previous one); 0 where that lies outside the map."""
    if flow.shape != (2, ) + tuple(id_map.shape):
        raise ValueError(f'warp_id_map: flow must be [2, {id_map.shape[0]}, {id_map.shape[1]}], '
                         f'got {tuple(flow.shape)}')
    height, width = id_map.shape
    ys, xs = torch.meshgrid(torch.arange(height, device=flow.device),
                            torch.arange(width, device=flow.device), indexing='ij')
    sx = torch.round(xs + flow[0]).long()
    sy = torch.round(ys + flow[1]).long()
    inside = (sx >= 0) & (sx < width) & (sy >= 0) & (sy < height)
    out = torch.zeros_like(id_map)
    out[inside] = id_map[sy[inside], sx[inside]]
    return out


@MODELS.register_module()
class IoUMatchTracker:
    """IoU-Match baseline (mmvps' reading of "flow-guided object matching by mask IoU"): the
    previous frame's final thing-id map, warped onto this frame with the optical flow
    (nearest, :func:`warp_id_map`), is matched to this frame's thing masks by mask IoU within a
    class; Hungarian assignment, pairs with IoU >= ``iou_thr`` keep the previous id, the rest
    get new ids. The memory is the previous frame only.

    Args:
        iou_thr (float): smallest IoU of a match. Defaults to 0.5.
        use_flow (bool): warp with the ``flow`` passed to :meth:`update` (False: plain mask
            IoU with the unwarped previous map). Defaults to False.
    """

    def __init__(self, iou_thr: float = 0.5, use_flow: bool = False) -> None:
        self.iou_thr = iou_thr
        self.use_flow = use_flow
        self.reset()

    def reset(self) -> None:
        self.prev_map: Optional[Tensor] = None
        self.prev_labels: dict = {}
        self.next_id = 1

    def update(self, frame_id: int, instances: InstanceData,
               segment_map: Optional[Tensor] = None, flow: Optional[Tensor] = None,
               **kwargs) -> Tensor:
        _check_instances(type(self).__name__, instances, ('labels', 'present'))
        if segment_map is None:
            raise ValueError('IoUMatchTracker.update needs the frame\'s segment_map')
        labels = instances.labels
        num = len(labels)
        present = torch.nonzero(instances.present).squeeze(1).tolist()
        ids = torch.zeros(num, dtype=torch.long, device=labels.device)
        segment_map = segment_map.long()
        if self.prev_map is not None and present and self.prev_labels:
            prev = self.prev_map
            if self.use_flow:
                if flow is None:
                    raise ValueError('IoUMatchTracker(use_flow=True).update needs the flow from '
                                     'this frame to the previous one')
                prev = warp_id_map(prev, flow)
            prev_ids = sorted(self.prev_labels)
            # one joint histogram gives every intersection and both areas
            lookup = torch.zeros(max(prev_ids) + 1, dtype=torch.long, device=prev.device)
            lookup[torch.as_tensor(prev_ids, device=prev.device)] = torch.arange(
                1, len(prev_ids) + 1, device=prev.device)
            prev_index = lookup[prev]
            joint = torch.bincount((segment_map * (len(prev_ids) + 1) + prev_index).reshape(-1),
                                   minlength=(num + 1) * (len(prev_ids) + 1)).view(
                                       num + 1, len(prev_ids) + 1).double()
            inter = joint[1:, 1:]
            union = joint[1:].sum(1, keepdim=True) + joint[:, 1:].sum(0, keepdim=True) - inter
            iou = (inter / union.clamp(min=1)).cpu()
            same_class = labels.cpu()[:, None] == torch.as_tensor(
                [self.prev_labels[pid] for pid in prev_ids])[None]
            iou = (iou * same_class)[present].numpy()
            rows, cols = linear_sum_assignment(-iou)
            for a, b in zip(rows, cols):
                if iou[a, b] >= self.iou_thr:
                    ids[present[a]] = prev_ids[b]
        for i in present:
            if ids[i] == 0:
                ids[i] = self.next_id
                self.next_id += 1
        lookup = torch.cat([ids.new_zeros(1), ids])
        self.prev_map = lookup[segment_map]
        self.prev_labels = {int(ids[i]): int(labels[i]) for i in present}
        return ids

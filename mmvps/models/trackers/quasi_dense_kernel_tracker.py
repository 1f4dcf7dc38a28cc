"""Quasi-dense tracker on kernel association embeddings (Video K-Net inference, Sec. 3.3)."""
from typing import Optional, Tuple

import torch
from mmdet.models.trackers import QuasiDenseTracker
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class QuasiDenseKernelTracker(QuasiDenseTracker):
    """mmdet's ``QuasiDenseTracker`` driven by the kernel embeddings of the thing segments kept in
    a frame's panoptic map instead of boxes and RoI features.

    Matching is QDTrack's: bi-directional softmax between the current embeddings and the memory
    (tracklets updated with momentum, plus the unmatched segments of the last
    ``memo_backdrop_frames`` frames as backdrops), same-class constraint, greedy assignment in
    score order. Panoptic segments never overlap, so by default the box-IoU duplicate removal
    of the box tracker is not used. A tracklet unseen for ``num_frames_retain`` frames is
    dropped, so the memory is bounded whatever the video length.

    ``with_box_nms=True`` (the official Video K-Net tracker) takes one box per segment (of its
    mask, in the official code restricted to pixels whose semantic-head argmax is a thing): a
    segment whose box overlaps a higher-scored one by IoU > ``nms_class_iou_thr`` (score >=
    ``obj_score_thr``) or > ``nms_backdrop_iou_thr`` (lower score) is dropped before matching
    (track id 0), and an unmatched segment becomes a backdrop only when its box overlaps no
    higher-scored kept box by more than ``nms_backdrop_iou_thr``.

    Args:
        num_frames_retain (int): frames a lost tracklet stays in memory (re-identification
            window); replaces QDTrack's ``memo_tracklet_frames``.
        with_box_nms (bool): see above.
        **kwargs: the other ``QuasiDenseTracker`` arguments (``init_score_thr``,
            ``obj_score_thr``, ``match_score_thr``, ``memo_backdrop_frames``, ``memo_momentum``,
            ``nms_conf_thr``, ``with_cats``, ``match_metric``).
    """

    def __init__(self, num_frames_retain: int = 10, with_box_nms: bool = False,
                 **kwargs) -> None:
        if 'memo_tracklet_frames' in kwargs:
            raise ValueError('QuasiDenseKernelTracker: use num_frames_retain, not '
                             'memo_tracklet_frames')
        if num_frames_retain < 1:
            raise ValueError(f'num_frames_retain must be >= 1, got {num_frames_retain}')
        super().__init__(
            memo_tracklet_frames=num_frames_retain, num_frames_retain=num_frames_retain, **kwargs)
        self.with_box_nms = with_box_nms

    def update(self, ids: Tensor, embeds: Tensor, labels: Tensor, scores: Tensor,
               frame_id: int, bboxes: Optional[Tensor] = None) -> None:
        """Update the tracklets with the tracked segments, keep the untracked ones as backdrops
        (with ``bboxes`` in decreasing score order: those not overlapping an earlier box) and
        drop tracklets unseen for ``num_frames_retain`` frames."""
        tracked = ids > -1
        for id, embed, label, score in zip(ids[tracked], embeds[tracked], labels[tracked],
                                           scores[tracked]):
            id = int(id)
            if id in self.tracks:
                track = self.tracks[id]
                track['embed'] = (1 - self.memo_momentum) * track['embed'] + \
                    self.memo_momentum * embed
                track.update(label=label, score=score, last_frame=frame_id)
            else:
                self.tracks[id] = dict(embed=embed, label=label, score=score,
                                       last_frame=frame_id)
        backdrop = ids == -1
        if bboxes is not None and len(bboxes):
            ious = bbox_overlaps(bboxes, bboxes)
            for i in torch.nonzero(backdrop).flatten().tolist():
                if (ious[i, :i] > self.nms_backdrop_iou_thr).any():
                    backdrop[i] = False
        self.backdrops.insert(0, dict(embeds=embeds[backdrop], labels=labels[backdrop]))
        del self.backdrops[self.memo_backdrop_frames:]
        for id in [k for k, v in self.tracks.items()
                   if frame_id - v['last_frame'] >= self.num_frames_retain]:
            self.tracks.pop(id)

    @property
    def memo(self) -> Tuple[Tensor, Tensor, Tensor]:
        """Memory as ``(labels [M], embeds [M, D], ids [M])``; backdrops have id -1."""
        labels = [v['label'].view(1) for v in self.tracks.values()]
        embeds = [v['embed'][None] for v in self.tracks.values()]
        ids = [torch.tensor(list(self.tracks.keys()), dtype=torch.long)]
        for backdrop in self.backdrops:
            labels.append(backdrop['labels'])
            embeds.append(backdrop['embeds'])
            ids.append(torch.full((backdrop['labels'].numel(), ), -1, dtype=torch.long))
        return torch.cat(labels), torch.cat(embeds), torch.cat(ids).to(embeds[0].device)

    @property
    def memory_size(self) -> int:
        """Number of embeddings held (tracklets + backdrops)."""
        return len(self.tracks) + sum(b['labels'].numel() for b in self.backdrops)

    def track(self, embeds: Tensor, labels: Tensor, scores: Tensor, frame_id: int,
              bboxes: Optional[Tensor] = None) -> Tensor:
        """Associate the kept thing segments of one frame with the memory.

        Args:
            embeds (Tensor): ``[S, D]`` association embeddings of the segments.
            labels (Tensor): ``[S]`` class labels.
            scores (Tensor): ``[S]`` segment scores.
            frame_id (int): 0-based frame index in the video.
            bboxes (Tensor, optional): ``[S, 4]`` boxes (x1, y1, x2, y2), needed with
                ``with_box_nms``.

        Returns:
            Tensor: ``[S]`` track ids, ``>= 1`` for tracked segments and 0 for segments that
            neither match a tracklet nor score enough to start one.
        """
        if not embeds.shape[0] == labels.shape[0] == scores.shape[0]:
            raise ValueError(f'track(): {embeds.shape[0]} embeddings, {labels.shape[0]} labels '
                             f'and {scores.shape[0]} scores differ in number')
        if self.with_box_nms and (bboxes is None or len(bboxes) != len(scores)):
            raise ValueError('QuasiDenseKernelTracker(with_box_nms=True).track() needs one box '
                             'per segment')
        num_segments = embeds.shape[0]
        ids = torch.full((num_segments, ), -1, dtype=torch.long, device=embeds.device)
        if num_segments == 0:  # still age the memory
            self.update(ids, embeds, labels, scores, frame_id)
            return ids + 1
        order = scores.argsort(descending=True)
        if self.with_box_nms:
            order = order[self._box_nms(bboxes[order], scores[order])]
            bboxes = bboxes[order]
        else:
            bboxes = None
        embeds, labels, scores = embeds[order], labels[order], scores[order]
        num_segments = len(order)
        ids_sorted = ids.new_full((num_segments, ), -1)
        memo_size = self.memory_size
        if memo_size > 0:
            memo_labels, memo_embeds, memo_ids = self.memo
            match_scores = self._match_scores(embeds, memo_embeds)
            if self.with_cats:
                match_scores = match_scores * (labels[:, None] == memo_labels[None]).float()
            for i in range(num_segments):
                conf, memo_ind = match_scores[i].max(dim=0)
                id = memo_ids[memo_ind]
                if conf > self.match_score_thr and id > -1:
                    if scores[i] > self.obj_score_thr:
                        ids_sorted[i] = id
                        match_scores[:, memo_ind] = 0
                    elif conf > self.nms_conf_thr:
                        ids_sorted[i] = -2
        new = (ids_sorted == -1) & (scores > self.init_score_thr)
        num_new = int(new.sum())
        ids_sorted[new] = torch.arange(
            self.num_tracks, self.num_tracks + num_new, dtype=torch.long, device=ids.device)
        self.num_tracks += num_new
        self.update(ids_sorted, embeds, labels, scores, frame_id, bboxes)
        ids[order] = ids_sorted
        return torch.where(ids >= 0, ids + 1, torch.zeros_like(ids))

    def _box_nms(self, bboxes: Tensor, scores: Tensor) -> Tensor:
        """Indices (into score-sorted segments) kept by the duplicate removal."""
        ious = bbox_overlaps(bboxes, bboxes)
        keep = torch.ones(len(bboxes), dtype=torch.bool, device=bboxes.device)
        for i in range(1, len(bboxes)):
            thr = self.nms_backdrop_iou_thr if scores[i] < self.obj_score_thr \
                else self.nms_class_iou_thr
            if (ious[i, :i] > thr).any():
                keep[i] = False
        return torch.nonzero(keep).flatten()

    def _match_scores(self, embeds: Tensor, memo_embeds: Tensor) -> Tensor:
        if self.match_metric == 'cosine':
            return torch.nn.functional.normalize(embeds, dim=1) @ \
                torch.nn.functional.normalize(memo_embeds, dim=1).t()
        feats = embeds @ memo_embeds.t()
        if self.match_metric == 'softmax':
            return feats.softmax(dim=1)
        return (feats.softmax(dim=1) + feats.softmax(dim=0)) / 2

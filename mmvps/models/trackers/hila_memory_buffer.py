"""HiLA-MB: Video-kMaX's hierarchical location-aware memory buffer (Sec. 3.2, Eq. 3-5)."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class HiLAMemoryBuffer:
    """Cross-clip associater of Video-kMaX: a memory of the thing tracks of a video, holding per
    entry its appearance (momentum-averaged query embedding, Eq. 3), its normalised boxes at the
    last two frames (Eq. 4), its class and the frame it was last seen.

    One :meth:`update` per new frame ``t`` (the newest frame of a clip) does, in order:

    1. Refresh: drop the entries last seen more than ``refresh_frames`` (tau) frames before
       ``t``, i.e. ``t - last_seen > tau`` (the paper's "tau frame behind" does not say > or >=;
       with >= the naive buffer's tau = 1 could never match anything).
    2. The objects that Video Stitching already tied to a global id (``assigned``) take that id;
       their entries are not matched again.
    3. Decoding (Eq. 5) between the other objects ``i`` and the other entries ``j``:
       ``f(i, j) = exp(-||b_i - b_j^t||^2 / T_loc) * cos(q_i, q_j)`` with ``b_j^t`` the entry's
       box predicted for frame ``t`` at constant velocity (Eq. 4); with one cue switched off
       ``f`` is the other factor alone. Hungarian matching (scipy) maximises the sum of ``f``
       (per class when ``class_aware``, i.e. ``f = -inf`` across classes; the paper does not
       restrict matching to a class), and a pair is kept when ``f > match_threshold`` (alpha).
       The remaining objects get new ids.
    4. Encoding (Eq. 3, 4): a matched / stitched entry gets ``q <- (1 - lambda) q + lambda q_i``
       (``momentum`` = lambda weights the *current* feature) and its current box; a new entry
       ``q <- q_i`` and its box (velocity 0); an absent entry keeps ``q`` and moves its box by
       its velocity, every frame, so the velocity stays constant while it is absent.

    Boxes are kept for consecutive frames: when ``t`` jumps by ``g > 1`` frames since the last
    update, an absent entry moves ``g`` steps. The memory holds at most the objects of the last
    ``tau + 1`` frames, whatever the video length.

    The paper's naive memory buffer (Tab. 5-7 baseline) is ``use_location=False,
    refresh_frames=1`` with the video model's ``use_stitching=False``.

    Args:
        momentum (float): lambda of Eq. 3, weight of the current appearance. Defaults to 0.8.
        location_temperature (float): T of Eq. 5. Defaults to 1.0.
        refresh_frames (int): tau, frames an unseen entry is kept. Defaults to 10.
        match_threshold (float): alpha, the similarity a match must exceed. Defaults to 0.7.
        use_appearance (bool): use the cosine appearance factor. Defaults to True.
        use_location (bool): use the box factor. Defaults to True.
        class_aware (bool): match only objects and entries of the same class (this project's
            default; the paper is silent). Defaults to True.
    """

    def __init__(self,
                 momentum: float = 0.8,
                 location_temperature: float = 1.0,
                 refresh_frames: int = 10,
                 match_threshold: float = 0.7,
                 use_appearance: bool = True,
                 use_location: bool = True,
                 class_aware: bool = True) -> None:
        if not 0 <= momentum <= 1:
            raise ValueError(f'HiLAMemoryBuffer: momentum must lie in [0, 1], got {momentum}')
        if location_temperature <= 0:
            raise ValueError(f'HiLAMemoryBuffer: location_temperature must be > 0, got '
                             f'{location_temperature}')
        if refresh_frames < 1:
            raise ValueError(f'HiLAMemoryBuffer: refresh_frames must be >= 1, got '
                             f'{refresh_frames}')
        if not (use_appearance or use_location):
            raise ValueError('HiLAMemoryBuffer: at least one of use_appearance and use_location '
                             'must be on')
        self.momentum = momentum
        self.location_temperature = location_temperature
        self.refresh_frames = refresh_frames
        self.match_threshold = match_threshold
        self.use_appearance = use_appearance
        self.use_location = use_location
        self.class_aware = class_aware
        self.reset()

    def reset(self) -> None:
        """Empty the memory and restart the ids at 1 (a new video)."""
        self.ids = torch.zeros(0, dtype=torch.long)
        self.labels = torch.zeros(0, dtype=torch.long)
        self.embeds: Optional[Tensor] = None
        self.boxes = torch.zeros(0, 2, 4)  # the boxes at frames (frame_id - 1, frame_id)
        self.last_seen = torch.zeros(0, dtype=torch.long)
        self.frame_id: Optional[int] = None
        self.next_id = 1
        self.last_matching_space = (0, 0)  # (entries, objects) of the last Hungarian matching

    @property
    def num_entries(self) -> int:
        """Number of tracks in the memory."""
        return len(self.ids)

    def predicted_boxes(self, frame_id: int) -> Tensor:
        """``[M, 4]`` boxes of the entries at ``frame_id`` by constant velocity (Eq. 4)."""
        steps = 0 if self.frame_id is None else frame_id - self.frame_id
        return self.boxes[:, 1] + steps * (self.boxes[:, 1] - self.boxes[:, 0])

    def similarity(self, embeds: Tensor, boxes: Tensor, memory_embeds: Tensor,
                   memory_boxes: Tensor) -> Tensor:
        """Eq. 5: ``[N, M]`` similarity of ``N`` objects to ``M`` entries (boxes already
        predicted for the current frame)."""
        sim = embeds.new_ones(len(embeds), len(memory_embeds))
        if self.use_location:
            distance = ((boxes[:, None] - memory_boxes[None]) ** 2).sum(-1)
            sim = sim * torch.exp(-distance / self.location_temperature)
        if self.use_appearance:
            sim = sim * (F.normalize(embeds, dim=-1) @ F.normalize(memory_embeds, dim=-1).T)
        return sim

    def update(self,
               frame_id: int,
               labels: Tensor,
               embeds: Tensor,
               boxes: Tensor,
               assigned: Optional[Dict[int, int]] = None) -> Tensor:
        """Associate the thing objects of frame ``frame_id`` and encode them.

        Args:
            frame_id (int): the current frame; must grow between calls until :meth:`reset`.
            labels (Tensor): ``[S]`` classes.
            embeds (Tensor): ``[S, D]`` appearance features (query embeddings).
            boxes (Tensor): ``[S, 4]`` normalised boxes at ``frame_id``
                (:func:`masks_to_normalized_boxes`).
            assigned (dict, optional): ``{object index: global id}`` already decided by Video
                Stitching.

        Returns:
            Tensor: ``[S]`` global ids (>= 1).
        """
        num = len(labels)
        if embeds.dim() != 2 or len(embeds) != num or boxes.shape != (num, 4):
            raise ValueError(f'HiLAMemoryBuffer.update: need labels [S], embeds [S, D] and boxes '
                             f'[S, 4], got {tuple(labels.shape)}, {tuple(embeds.shape)} and '
                             f'{tuple(boxes.shape)}')
        if self.frame_id is not None and frame_id <= self.frame_id:
            raise ValueError(f'HiLAMemoryBuffer.update: frame {frame_id} does not follow frame '
                             f'{self.frame_id}; call reset() for a new video')
        if self.embeds is not None and embeds.shape[1] != self.embeds.shape[1]:
            raise ValueError(f'HiLAMemoryBuffer.update: {embeds.shape[1]}-d embeddings for a '
                             f'memory of {self.embeds.shape[1]}-d ones')
        assigned = dict(assigned or {})
        if any(not 0 <= i < num for i in assigned) or len(set(assigned.values())) != len(
                assigned) or any(i < 1 for i in assigned.values()):
            raise ValueError(f'HiLAMemoryBuffer.update: assigned must map distinct object '
                             f'indices in [0, {num}) to distinct ids >= 1, got {assigned}')
        device = embeds.device
        labels, boxes, embeds = labels.long().to(device), boxes.float().to(device), embeds.float()
        self._to(device)
        if self.embeds is None:
            self.embeds = embeds.new_zeros(0, embeds.shape[1])

        # 1. refresh
        keep = frame_id - self.last_seen <= self.refresh_frames
        self._select(keep)
        predicted = self.predicted_boxes(frame_id)

        # 2. stitched objects take their id (an id the memory lost starts a new entry)
        ids = torch.zeros(num, dtype=torch.long, device=device)
        entry_of = torch.full((num, ), -1, dtype=torch.long, device=device)
        position = {int(track_id): j for j, track_id in enumerate(self.ids.tolist())}
        for i, track_id in assigned.items():
            ids[i] = track_id
            entry_of[i] = position.get(track_id, -1)

        # 3. decoding: Hungarian on Eq. 5 between the rest
        claimed = torch.zeros(self.num_entries, dtype=torch.bool, device=device)
        claimed[entry_of[entry_of >= 0]] = True
        free_objects = torch.nonzero(ids == 0).squeeze(1)
        free_entries = torch.nonzero(~claimed).squeeze(1)
        self.last_matching_space = (len(free_entries), len(free_objects))
        if len(free_objects) and len(free_entries):
            sim = self.similarity(embeds[free_objects], boxes[free_objects],
                                  self.embeds[free_entries], predicted[free_entries])
            groups = [(free_objects.new_ones(len(free_objects), dtype=torch.bool),
                       free_entries.new_ones(len(free_entries), dtype=torch.bool))]
            if self.class_aware:
                groups = [(labels[free_objects] == c, self.labels[free_entries] == c)
                          for c in labels[free_objects].unique()]
            for object_mask, entry_mask in groups:
                obj_inds, ent_inds = torch.nonzero(object_mask).squeeze(1), torch.nonzero(
                    entry_mask).squeeze(1)
                if not len(obj_inds) or not len(ent_inds):
                    continue
                block = sim[obj_inds][:, ent_inds]
                rows, cols = linear_sum_assignment(block.detach().cpu().numpy(), maximize=True)
                for r, c in zip(rows.tolist(), cols.tolist()):
                    if block[r, c] > self.match_threshold:
                        i, j = int(free_objects[obj_inds[r]]), int(free_entries[ent_inds[c]])
                        ids[i], entry_of[i] = self.ids[j], j
        self.next_id = max([self.next_id] + [track_id + 1 for track_id in assigned.values()])
        for i in torch.nonzero(ids == 0).squeeze(1).tolist():
            ids[i] = self.next_id
            self.next_id += 1

        # 4. encoding
        steps = 1 if self.frame_id is None else frame_id - self.frame_id
        velocity = self.boxes[:, 1] - self.boxes[:, 0]
        previous = self.boxes[:, 1] + (steps - 1) * velocity  # the box at frame_id - 1
        new_boxes = torch.stack([previous, predicted], dim=1)
        new_embeds = self.embeds.clone()
        seen = entry_of >= 0
        entries, objects = entry_of[seen], torch.nonzero(seen).squeeze(1)
        new_embeds[entries] = (1 - self.momentum) * self.embeds[entries] + \
            self.momentum * embeds[objects]
        new_boxes[entries, 1] = boxes[objects]
        new_labels = self.labels.clone()
        new_labels[entries] = labels[objects]
        last_seen = self.last_seen.clone()
        last_seen[entries] = frame_id
        added = torch.nonzero(~seen).squeeze(1)
        self.ids = torch.cat([self.ids, ids[added]])
        self.labels = torch.cat([new_labels, labels[added]])
        self.embeds = torch.cat([new_embeds, embeds[added]])
        self.boxes = torch.cat([new_boxes, boxes[added, None].expand(-1, 2, -1)])
        self.last_seen = torch.cat([last_seen, last_seen.new_full((len(added), ), frame_id)])
        self.frame_id = frame_id
        return ids

    def _select(self, keep: Tensor) -> None:
        self.ids, self.labels, self.boxes = self.ids[keep], self.labels[keep], self.boxes[keep]
        self.embeds, self.last_seen = self.embeds[keep], self.last_seen[keep]

    def _to(self, device) -> None:
        self.ids, self.labels = self.ids.to(device), self.labels.to(device)
        self.boxes, self.last_seen = self.boxes.to(device), self.last_seen.to(device)
        if self.embeds is not None:
            self.embeds = self.embeds.to(device)

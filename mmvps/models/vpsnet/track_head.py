"""VPSNet's MaskTrack R-CNN track head (spec vpsnet.md §3.1-3.2)."""
from collections import defaultdict
from typing import List, Optional, Tuple

import torch
from mmdet.models.losses import accuracy
from mmdet.models.task_modules.tracking import embed_similarity
from mmdet.models.tracking_heads import RoIEmbedHead
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class VPSNetTrackHead(RoIEmbedHead):
    """mmdet's ``RoIEmbedHead`` with the released VPSNet head's differences: no ReLU after
    the last FC (``last_relu=False``), the match loss summed over the positive key RoIs and
    divided by their number (those matched to no reference object, target 0, included), and
    weight 0.5 (set in ``loss_match``).

    Key RoIs are the R-CNN's sampled RoIs (its sampling results), reference RoIs the reference
    frame's ground-truth boxes; the similarity of a key RoI to reference object ``j`` is the dot
    product of their embeddings, after an all-zero "new object" column (target 0).

    Args:
        last_relu (bool): ReLU after the last FC (mmdet's head). Defaults to False.
        **kwargs: ``RoIEmbedHead`` arguments (``num_fcs=2, fc_out_channels=1024`` and
            ``init_cfg=dict(type='Normal', layer='Linear', std=0.01)`` in VPSNet).
    """

    def __init__(self, last_relu: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.last_relu = last_relu

    def embed(self, x: Tensor) -> Tensor:
        """``[N, D]`` embeddings of ``[N, C, h, w]`` RoI features."""
        for conv in self.convs:
            x = conv(x)
        if self.with_avg_pool:
            x = self.avg_pool(x)
        x = x.flatten(1)
        for i, fc in enumerate(self.fcs):
            x = fc(x)
            if self.last_relu or i < len(self.fcs) - 1:
                x = self.relu(x)
        return x

    def extract_feat(self, x: Tensor, num_x_per_img: List[int]) -> Tuple[Tensor]:
        return torch.split(self.embed(x), num_x_per_img, dim=0)

    def loss_by_feat(self,
                     x_split: Tuple[Tensor],
                     ref_x_split: Tuple[Tensor],
                     sampling_results: list,
                     gt_instance_ids: List[Tensor],
                     ref_gt_instance_ids: List[Tensor],
                     reduction_override: Optional[str] = None) -> dict:
        """``loss_match`` (mean over images of the per-image CE over positives / #positives)
        and ``match_accuracy`` on the positives."""
        targets, weights = self.get_targets(sampling_results, gt_instance_ids,
                                            ref_gt_instance_ids)
        losses = defaultdict(list)
        for one_x, one_ref_x, target, weight in zip(x_split, ref_x_split, targets, weights):
            logits = embed_similarity(one_x, one_ref_x, method='dot_product')
            logits = torch.cat([logits.new_zeros(len(one_x), 1), logits], dim=1)
            losses['loss_match'].append(self.loss_match(
                logits, target, weight, avg_factor=max(float(weight.sum()), 1.),
                reduction_override=reduction_override))
            valid = weight > 0
            if valid.any():
                losses['match_accuracy'].append(accuracy(logits[valid], target[valid]))
        return {key: sum(values) / len(values) for key, values in losses.items()}

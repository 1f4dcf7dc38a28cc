"""Kernel association embedding head of Video K-Net (Sec. 3.2, "Learning Kernel Association
Embeddings")."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.registry import MODELS


@MODELS.register_module()
class KernelAssociationEmbedHead(BaseModule):
    """A few FC layers turning (linked) last-stage kernels into association embeddings, trained
    quasi-densely on the kernels matched to ground truth only.

    Sampling (mask-based, ``sample_kernels``): a matched kernel is a sample of its GT object when
    the IoU of its mask with the GT mask is above ``pos_iou_thr`` (alpha_1), a negative of every
    object when below ``neg_iou_thr`` (alpha_2), and unused in between. Key-frame samples ``v``
    are contrasted with the reference-frame samples ``k``: positive when both show the same
    object (same class and GT track id), negative otherwise (Eq. 1 and Eq. 2).

    The official code chains five linear layers: ``num_fcs=1`` FC-LN-ReLU and ``fc_embed`` (its
    detector-level ``embed_fcs`` / ``fc_embed``), then its QDTrack head's ``num_out_fcs=2``
    biased FC + ReLU (``fcs``) and a last FC (``fc_out``); it samples every matched kernel
    (``pos_iou_thr=None``).

    Args:
        in_channels (int): kernel channels.
        embed_channels (int): embedding channels.
        num_fcs (int): FC + LN + ReLU layers before ``fc_embed``.
        num_out_fcs (int): biased FC + ReLU layers after ``fc_embed`` (0: ``fc_embed`` gives
            the embedding); with them a last FC ``fc_out`` gives it.
        act_cfg (dict): activation of the FC layers.
        pos_iou_thr (float, optional): alpha_1; None: every matched kernel is a sample of its
            GT object and there are no negative samples (official code).
        neg_iou_thr (float): alpha_2.
        mask_thr (float): probability threshold binarizing kernel masks for the IoU.
        softmax_temp (float): temperature dividing the dot products of Eq. 1 (-1: none).
        loss_track (dict): Eq. 1 loss.
        loss_track_aux (dict, optional): Eq. 2 loss.
        init_cfg (dict): initialization (Xavier, as the paper initializes non-backbone layers).
    """

    def __init__(self,
                 in_channels: int = 256,
                 embed_channels: int = 256,
                 num_fcs: int = 1,
                 num_out_fcs: int = 0,
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 pos_iou_thr: Optional[float] = 0.7,
                 neg_iou_thr: float = 0.3,
                 mask_thr: float = 0.5,
                 softmax_temp: float = -1,
                 loss_track: dict = dict(type='AssociationContrastiveLoss', loss_weight=0.25),
                 loss_track_aux: Optional[dict] = dict(type='AssociationL2Loss', loss_weight=1.0),
                 init_cfg: dict = dict(type='Xavier', layer='Linear', distribution='uniform')
                 ) -> None:
        super().__init__(init_cfg=init_cfg)
        if pos_iou_thr is not None and not 0 <= neg_iou_thr <= pos_iou_thr <= 1:
            raise ValueError(f'need 0 <= neg_iou_thr <= pos_iou_thr <= 1, got {neg_iou_thr} and '
                             f'{pos_iou_thr}')
        self.in_channels = in_channels
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.mask_thr = mask_thr
        self.softmax_temp = softmax_temp
        self.embed_fcs = nn.Sequential()
        for _ in range(num_fcs):
            self.embed_fcs.append(nn.Linear(in_channels, in_channels, bias=False))
            self.embed_fcs.append(build_norm_layer(dict(type='LN'), in_channels)[1])
            self.embed_fcs.append(build_activation_layer(act_cfg))
        self.fc_embed = nn.Linear(in_channels, embed_channels)
        self.fcs = nn.ModuleList([
            nn.Linear(embed_channels, embed_channels) for _ in range(num_out_fcs)
        ])
        self.fc_out = nn.Linear(embed_channels, embed_channels) if num_out_fcs else None
        self.loss_track = MODELS.build(loss_track)
        self.loss_track_aux = MODELS.build(loss_track_aux) if loss_track_aux else None

    def forward(self, kernels: Tensor) -> Tensor:
        """``[..., C]`` kernels -> ``[..., embed_channels]`` association embeddings."""
        embeds = self.fc_embed(self.embed_fcs(kernels))
        for fc in self.fcs:
            embeds = F.relu(fc(embeds))
        return embeds if self.fc_out is None else self.fc_out(embeds)

    @torch.no_grad()
    def sample_kernels(self, mask_logits: Tensor, gt_masks: Tensor,
                       assigned_gt_inds: Tensor) -> Tuple[Tensor, Tensor]:
        """Pick the association samples among the kernels matched to ground truth.

        Args:
            mask_logits (Tensor): ``[N, h, w]`` mask logits of the kernels.
            gt_masks (Tensor): ``[G, H, W]`` binary GT thing masks (any size; resized to
                ``h, w``).
            assigned_gt_inds (Tensor): ``[N]`` GT index per kernel, -1 unassigned (thing
                kernels only: stuff kernels must be passed as -1).

        Returns:
            tuple: ``inds`` (kernel indices of the samples) and ``gt_inds`` (their GT index,
            -1 for a negative sample).
        """
        matched = torch.nonzero(assigned_gt_inds >= 0, as_tuple=False).squeeze(1)
        empty = assigned_gt_inds.new_zeros((0, ))
        if matched.numel() == 0:
            return empty, empty
        if int(assigned_gt_inds.max()) >= gt_masks.shape[0]:
            raise ValueError(f'assigned GT index {int(assigned_gt_inds.max())} out of range for '
                             f'{gt_masks.shape[0]} GT masks')
        gt_inds = assigned_gt_inds[matched]
        if self.pos_iou_thr is None:
            return matched, gt_inds
        gt = gt_masks[gt_inds].float()
        if gt.shape[-2:] != mask_logits.shape[-2:]:
            gt = F.interpolate(gt[None], mask_logits.shape[-2:], mode='bilinear',
                               align_corners=False)[0]
        gt = gt > 0.5
        pred = mask_logits[matched].sigmoid() > self.mask_thr
        inter = (pred & gt).flatten(1).sum(1).float()
        union = (pred | gt).flatten(1).sum(1).float()
        ious = inter / union.clamp(min=1)
        positive = ious > self.pos_iou_thr
        negative = ious < self.neg_iou_thr
        keep = positive | negative
        return matched[keep], torch.where(positive, gt_inds, -1)[keep]

    def get_targets(self, key_labels: Tensor, key_ids: Tensor, ref_labels: Tensor,
                    ref_ids: Tensor) -> Tensor:
        """``[V, K]`` targets: 1 where a key sample and a reference sample show the same object
        (same class and track id, id > 0), else 0. Negative samples carry id 0."""
        same = (key_labels[:, None] == ref_labels[None]) & (key_ids[:, None] == ref_ids[None])
        return (same & (key_ids[:, None] > 0)).long()

    def loss(self, key_embeds: List[Tensor], ref_embeds: List[Tensor],
             key_labels: List[Tensor], key_ids: List[Tensor], ref_labels: List[Tensor],
             ref_ids: List[Tensor]) -> dict:
        """Eq. 1 and Eq. 2 averaged over the images of a batch.

        Per image: embeddings of the key-frame samples ``[V, D]`` and of the reference-frame
        samples ``[K, D]``, their GT labels and track ids (0 for negative samples). Only
        key samples that are objects (id > 0) are training samples ``v``.
        """
        loss_track, loss_aux = [], []
        for key_embed, ref_embed, k_labels, k_ids, r_labels, r_ids in zip(
                key_embeds, ref_embeds, key_labels, key_ids, ref_labels, ref_ids):
            is_object = k_ids > 0
            key_embed, k_labels, k_ids = key_embed[is_object], k_labels[is_object], k_ids[
                is_object]
            targets = self.get_targets(k_labels, k_ids, r_labels, r_ids)
            similarity = key_embed @ ref_embed.t()
            if self.softmax_temp > 0:
                similarity = similarity / self.softmax_temp
            loss_track.append(self.loss_track(similarity, targets))
            if self.loss_track_aux is not None:
                cosine = F.normalize(key_embed, dim=1) @ F.normalize(ref_embed, dim=1).t()
                loss_aux.append(self.loss_track_aux(cosine, targets) if targets.numel() else
                                cosine.sum() * 0)
        losses = dict(loss_track=sum(loss_track) / max(len(loss_track), 1))
        if self.loss_track_aux is not None:
            losses['loss_track_aux'] = sum(loss_aux) / max(len(loss_aux), 1)
        return losses

    def predict(self, kernels: Tensor) -> Tensor:
        """Association embeddings of the kernels kept at inference."""
        return self(kernels)

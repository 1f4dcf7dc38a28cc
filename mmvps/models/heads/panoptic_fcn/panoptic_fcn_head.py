"""PanopticFCN's head for frames and clips (spec ``clip_panofcn.md`` sections 2, 3.2-3.5,
4.1-4.2): Semantic FPN + feature encoder (high-resolution features F), position head and
kernel head shared over the FPN levels, thing / stuff kernel projections, the training losses
and the candidate kernels of a clip."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmvps.registry import MODELS, TASK_UTILS


@MODELS.register_module()
class PanopticFCNHead(BaseModule):
    """PanopticFCN head on the FPN levels of ``B = N * T`` frames (clips of T consecutive frames,
    frames of a clip consecutive in the batch).

    Args:
        num_things (int): thing classes (centre heatmap channels).
        num_stuff (int): stuff classes; the region map has ``num_stuff + 1`` channels, channel
            0 = "any thing" (PanopticFCN's ``STUFF.WITH_THING``).
        semantic_fpn (dict): the Semantic FPN that fuses ``semantic_levels`` into one stride-4
            map (mmvps ``SemanticFPN`` with ``out_conv=False``).
        feature_encoder (dict): :class:`FeatureEncoder` config (F: ``embed_channels`` channels).
        position_head (dict): :class:`PositionHead` config without the class numbers.
        kernel_head (dict): :class:`KernelHead` config.
        embed_channels (int): channels of F and of the projected kernels (64).
        semantic_levels (tuple[int]): indices of the inputs fed to the Semantic FPN (P2..P5).
        head_levels (tuple[int]): indices of the inputs fed to the position / kernel heads
            (P3..P7).
        target_generator (dict): :class:`PanopticFCNTargetGenerator` config.
        num_positives (int): kernels per (instance, frame, level) in training (3 for
            Clip-PanoFCN, 7 for image PanopticFCN), weighted by their centre score.
        loss_center, loss_region (dict): sigmoid focal losses on the soft targets.
        loss_mask (dict): V-Net dice loss (weight 3).
        released_weight_order (bool): pair each thing positive with the dice weights the
            released Clip-PanoFCN code gives it (an indexing slip: for T > 1 the weights of
            another (instance, frame) of the clip); False (default) uses its own weights.
        test_cfg (dict): ``center_pool_sizes`` (one per head level), ``top_num`` (candidates
            per level and frame = ``top_num // 2``), ``thing_thr``, ``stuff_thr``.
    """

    def __init__(self,
                 num_things: int,
                 num_stuff: int,
                 semantic_fpn: dict = dict(
                     type='SemanticFPN', in_channels=256, feat_channels=256, out_channels=256,
                     num_levels=4, out_conv=False, positional_encoding=None),
                 feature_encoder: dict = dict(type='FeatureEncoder', in_channels=256,
                                              channels=64),
                 position_head: dict = dict(type='PositionHead', in_channels=256, channels=256),
                 kernel_head: dict = dict(type='KernelHead', in_channels=256, channels=256),
                 embed_channels: int = 64,
                 semantic_levels: Sequence[int] = (0, 1, 2, 3),
                 head_levels: Sequence[int] = (1, 2, 3, 4, 5),
                 target_generator: dict = dict(type='PanopticFCNTargetGenerator'),
                 num_positives: int = 3,
                 loss_center: dict = dict(
                     type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 loss_region: dict = dict(
                     type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 loss_mask: dict = dict(
                     type='DiceLoss', use_sigmoid=True, activate=True, naive_dice=False,
                     eps=1e-8, reduction='mean', loss_weight=3.0),
                 released_weight_order: bool = False,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.released_weight_order = released_weight_order
        self.num_things = num_things
        self.num_stuff = num_stuff
        self.embed_channels = embed_channels
        self.semantic_levels = tuple(semantic_levels)
        self.head_levels = tuple(head_levels)
        self.num_positives = num_positives
        self.semantic_fpn = MODELS.build(semantic_fpn)
        self.feature_encoder = MODELS.build(feature_encoder)
        self.position_head = MODELS.build(
            dict(position_head, num_things=num_things, num_stuff_channels=num_stuff + 1))
        self.kernel_head = MODELS.build(kernel_head)
        kernel_channels = self.kernel_head.out_conv.out_channels
        self.thing_projector = MODELS.build(
            dict(type='KernelProjector', in_channels=kernel_channels, out_channels=embed_channels))
        self.stuff_projector = MODELS.build(
            dict(type='KernelProjector', in_channels=kernel_channels, out_channels=embed_channels))
        self.target_generator = TASK_UTILS.build(
            dict(target_generator, num_things=num_things, num_stuff=num_stuff))
        if self.target_generator.num_levels != len(self.head_levels):
            raise ValueError(f'PanopticFCNHead: {len(self.head_levels)} head_levels but '
                             f'{self.target_generator.num_levels} instance_scales')
        self.loss_center = MODELS.build(loss_center)
        self.loss_region = MODELS.build(loss_region)
        self.loss_mask = MODELS.build(loss_mask)
        self.test_cfg = dict(center_pool_sizes=(3, 3, 3, 5, 5), top_num=100, thing_thr=0.05,
                             stuff_thr=0.05)
        self.test_cfg.update(test_cfg or {})
        if len(self.test_cfg['center_pool_sizes']) != len(self.head_levels):
            raise ValueError(f'PanopticFCNHead: test_cfg.center_pool_sizes needs one size per '
                             f'head level ({len(self.head_levels)}), got '
                             f'{self.test_cfg["center_pool_sizes"]}')

    # ------------------------------------------------------------------ forward
    def forward(self, feats: Sequence[Tensor]) -> Dict[str, object]:
        """Args:
            feats (Sequence[Tensor]): FPN levels of B frames, P2 first.

        Returns:
            dict: ``center`` (per head level [B, num_things, h, w] logits), ``region`` (per head
            level [B, num_stuff + 1, h, w] logits, channel 0 = thing), ``kernels`` (per head
            level [B, C_k, h, w], before projection), ``mask_features`` ([B, E, H/4, W/4]).
        """
        needed = max(self.semantic_levels + self.head_levels) + 1
        if len(feats) < needed:
            raise ValueError(f'PanopticFCNHead needs {needed} FPN levels, got {len(feats)}')
        mask_features = self.feature_encoder(
            self.semantic_fpn([feats[i] for i in self.semantic_levels]))
        centers, regions, kernels = [], [], []
        for i in self.head_levels:
            center, region = self.position_head(feats[i])
            centers.append(center)
            regions.append(region)
            kernels.append(self.kernel_head(feats[i]))
        return dict(center=centers, region=regions, kernels=kernels,
                    mask_features=mask_features)

    # ------------------------------------------------------------------ training
    def get_targets(self, outputs: Dict[str, object], clip_gts: List[dict],
                    img_shape: Tuple[int, int]) -> List[dict]:
        """:class:`PanopticFCNTargetGenerator` targets for the output sizes."""
        return self.target_generator(
            clip_gts, img_shape, tuple(outputs['mask_features'].shape[-2:]),
            [tuple(c.shape[-2:]) for c in outputs['center']])

    def loss(self, outputs: Dict[str, object], clip_gts: List[dict],
             img_shape: Tuple[int, int]) -> Dict[str, Tensor]:
        """Losses of spec section 3.5 for N clips of T frames.

        Args:
            outputs (dict): :meth:`forward` of the ``B = N * T`` frames.
            clip_gts (list[dict]): N clips, each ``masks`` [K, T, H, W] (bool, one row per
                non-crowd thing instance = one target across the clip, empty where absent),
                ``labels`` [K] (0..num_things-1), ``sem_seg`` [T, H, W] (training labels,
                255 void); H, W the unpadded or padded input size.
            img_shape (tuple): padded input size (H, W) of the batch.

        Returns:
            dict: ``loss_pos_th`` (focal, centres; / #positive (instance, frame, level)),
            ``loss_pos_st`` (focal, regions; mean over pixels, summed over (frame, class,
            level), / B), ``loss_seg_th`` (weighted dice of the ``num_positives`` kernels;
            / #positives), ``loss_seg_st`` (dice per positive (class, frame, level)).
        """
        mask_feats = outputs['mask_features']
        num_clips = len(clip_gts)
        batch = mask_feats.shape[0]
        if num_clips == 0 or batch % num_clips:
            raise ValueError(f'PanopticFCNHead.loss: {batch} frames cannot be {num_clips} clips')
        num_frames = batch // num_clips
        targets = self.get_targets(outputs, clip_gts, img_shape)
        for i, target in enumerate(targets):
            if target['sem'].shape[0] != num_frames:
                raise ValueError(f'PanopticFCNHead.loss: clip {i} has {target["sem"].shape[0]} '
                                 f'frames of GT, the batch has {num_frames} per clip')

        thing_kernels, thing_weights, thing_frames, thing_masks = [], [], [], []
        stuff_kernels, stuff_frames, stuff_masks = [], [], []
        loss_center = loss_region = 0.
        num_thing_pos = 0
        slot_values = [[] for _ in targets]  # per clip, per level [slots, T, k]
        thing_slots, slot_offset = [], 0  # per positive (clip, frame, slot over all levels)
        for lvl, (center, region, kernel) in enumerate(
                zip(outputs['center'], outputs['region'], outputs['kernels'])):
            h, w = center.shape[-2:]
            center_t = torch.cat([t['center'][lvl] for t in targets])
            region_t = torch.cat([t['region'][lvl] for t in targets])
            loss_center = loss_center + self.loss_center(
                center, center_t, reduction_override='sum')
            loss_region = loss_region + self.loss_region(
                region, region_t, avg_factor=h * w * batch)
            kernel_flat = kernel.flatten(2)  # [B, C, hw]
            # things: the top-k centre scores inside the instance mask, for every frame of
            # each instance that is a target at this level (slots as in the reference)
            kept_per_clip = [torch.nonzero(t['pos'][lvl].any(1)).flatten() for t in targets]
            num_slots = max([1] + [len(kept) for kept in kept_per_clip])
            for n, (target, kept) in enumerate(zip(targets, kept_per_clip)):
                values_all = center.new_zeros(num_slots, num_frames, self.num_positives)
                slot_values[n].append(values_all)
                if not len(kept):
                    continue
                inst = kept.repeat_interleave(num_frames)
                frame = torch.arange(num_frames, device=kept.device).repeat(len(kept))
                frame_idx = n * num_frames + frame
                masks4 = target['masks'][inst, frame]  # [P, H4, W4]
                guide = F.interpolate(masks4[:, None], size=(h, w), mode='bilinear',
                                      align_corners=False)[:, 0]
                score = center[frame_idx, target['labels'][inst]].detach().sigmoid()
                score = torch.where(guide > 0.1, score, torch.zeros_like(score))
                values, index = score.flatten(1).topk(self.num_positives, dim=1)
                values_all[:len(kept)] = values.view(len(kept), num_frames, -1)
                is_pos = target['pos'][lvl][inst, frame]
                num_thing_pos += int(is_pos.sum())
                gathered = kernel_flat[frame_idx[is_pos]].gather(
                    2, index[is_pos][:, None].expand(-1, kernel_flat.shape[1], -1))
                thing_kernels.append(gathered.transpose(1, 2))  # [P, k, C]
                thing_weights.append(values[is_pos])
                thing_frames.append(frame_idx[is_pos])
                thing_masks.append(masks4[is_pos])
                slot = slot_offset + torch.arange(len(kept), device=kept.device).repeat_interleave(
                    num_frames)
                thing_slots.append(torch.stack(
                    [torch.full_like(slot, n), frame, slot])[:, is_pos])
            slot_offset += num_slots
            # stuff: mean over the whole level of binary region mask x kernel map
            for n, target in enumerate(targets):
                frame, cls = torch.nonzero(target['region_pos'][lvl], as_tuple=True)
                if not len(frame):
                    continue
                frame_idx = n * num_frames + frame
                region_bin = (target['region'][lvl][frame, cls] > 0).float().flatten(1)
                stuff_kernels.append(
                    torch.einsum('pn,pcn->pc', region_bin, kernel_flat[frame_idx]) / (h * w))
                stuff_frames.append(frame_idx)
                stuff_masks.append(target['sem'][frame, cls])

        if self.released_weight_order and thing_weights:
            thing_weights = [self._released_weights(slot_values, torch.cat(thing_slots, 1),
                                                    slot_offset)]
        losses = dict(
            loss_pos_th=loss_center / max(num_thing_pos, 1),
            loss_pos_st=loss_region)
        losses['loss_seg_th'] = self._thing_mask_loss(
            thing_kernels, thing_weights, thing_frames, thing_masks, mask_feats)
        losses['loss_seg_st'] = self._stuff_mask_loss(stuff_kernels, stuff_frames, stuff_masks,
                                                      mask_feats)
        return losses

    @staticmethod
    def _released_weights(slot_values: List[List[Tensor]], slots: Tensor,
                          num_slots: int) -> Tensor:
        """Dice weights of the positives as the released code pairs them: its weights are laid
        out (slot, frame) per clip but read with the positives' (frame, slot) order, so
        positive (t, s) gets the weights of flat entry ``t * S + s`` of the (slot, frame)
        table (the right ones only for T = 1)."""
        weights = []
        for n, frame, slot in slots.t().tolist():
            table = torch.cat(slot_values[n]).flatten(0, 1)  # [S * T, k]
            weights.append(table[frame * num_slots + slot])
        return torch.stack(weights)

    def _thing_mask_loss(self, kernels, weights, frames, masks, mask_feats) -> Tensor:
        """Weighted dice: each of the k kernels of a positive predicts a mask whose dice is
        weighted by its centre score normalised to sum 1 over the k; / #positives."""
        if not kernels:
            return mask_feats.sum() * 0. + sum(
                p.sum() * 0. for p in self.thing_projector.parameters())
        kernels = self.thing_projector(torch.cat(kernels))  # [P, k, E]
        weights = torch.cat(weights)
        weights = weights / weights.sum(1, keepdim=True).clamp(min=1e-8)
        frames = torch.cat(frames)
        masks = torch.cat(masks)
        logits = self._apply_kernels(kernels, frames, mask_feats)  # [P, k, HW]
        k = kernels.shape[1]
        targets = masks.flatten(1)[:, None].expand(-1, k, -1)
        return self.loss_mask(logits.flatten(0, 1), targets.flatten(0, 1),
                              weight=weights.flatten(), avg_factor=len(masks))

    def _stuff_mask_loss(self, kernels, frames, masks, mask_feats) -> Tensor:
        """Dice of every positive (class, frame, level) against the soft stride-4 map."""
        if not kernels:
            return mask_feats.sum() * 0. + sum(
                p.sum() * 0. for p in self.stuff_projector.parameters())
        kernels = self.stuff_projector(torch.cat(kernels))[:, None]  # [P, 1, E]
        frames = torch.cat(frames)
        masks = torch.cat(masks)
        logits = self._apply_kernels(kernels, frames, mask_feats)[:, 0]
        return self.loss_mask(logits, masks.flatten(1), avg_factor=len(masks))

    @staticmethod
    def _apply_kernels(kernels: Tensor, frames: Tensor, mask_feats: Tensor) -> Tensor:
        """Mask logits ``kernels[p] . F[frames[p]]`` -> [P, k, H4*W4], one matmul per frame."""
        feats = mask_feats.flatten(2)
        out = feats.new_zeros(kernels.shape[0], kernels.shape[1], feats.shape[-1])
        for b in torch.unique(frames).tolist():
            sel = frames == b
            out[sel] = torch.matmul(kernels[sel], feats[b])
        return out

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def get_clip_candidates(self, outputs: Dict[str, object], num_frames: int) -> List[dict]:
        """Candidate kernels of each clip (spec 4.1-4.2), projected to E channels.

        Things, per level and frame: sigmoid centre heat averaged with its k x k mean
        (``center_pool_sizes``), kept where it equals its 3 x 3 max, top ``top_num // 2`` over
        classes and positions, score > ``thing_thr``; all levels and frames sorted by score.
        Stuff, per level over the whole clip: argmax of the sigmoid region maps of the T
        frames; a present class scores the mean probability over its argmax pixels
        (> ``stuff_thr``) and its kernel is the mean over the stacked maps of mask x kernel
        weights (one candidate per (level, class), before stuff fusion; class 0 = thing).

        Returns:
            list[dict]: per clip ``thing_kernels`` [N, E], ``thing_scores`` [N],
            ``thing_labels`` [N], ``stuff_kernels`` [M, E], ``stuff_scores`` [M],
            ``stuff_labels`` [M], ``mask_features`` [T, E, H/4, W/4].
        """
        mask_feats = outputs['mask_features']
        batch = mask_feats.shape[0]
        if num_frames < 1 or batch % num_frames:
            raise ValueError(f'get_clip_candidates: {batch} frames are not clips of '
                             f'{num_frames}')
        results = []
        for n in range(batch // num_frames):
            sl = slice(n * num_frames, (n + 1) * num_frames)
            th_kernels, th_scores, th_labels = [], [], []
            st_kernels, st_scores, st_labels = [], [], []
            for center, region, kernel, pool in zip(outputs['center'], outputs['region'],
                                                    outputs['kernels'],
                                                    self.test_cfg['center_pool_sizes']):
                kern, score, label = self._thing_candidates(center[sl], kernel[sl], pool)
                th_kernels.append(kern)
                th_scores.append(score)
                th_labels.append(label)
                kern, score, label = self._stuff_candidates(region[sl], kernel[sl])
                st_kernels.append(kern)
                st_scores.append(score)
                st_labels.append(label)
            th_scores = torch.cat(th_scores)
            order = torch.argsort(th_scores, descending=True)
            results.append(dict(
                thing_kernels=self.thing_projector(torch.cat(th_kernels)[order]),
                thing_scores=th_scores[order],
                thing_labels=torch.cat(th_labels)[order],
                stuff_kernels=self.stuff_projector(torch.cat(st_kernels)),
                stuff_scores=torch.cat(st_scores),
                stuff_labels=torch.cat(st_labels),
                mask_features=mask_feats[sl]))
        return results

    def _thing_candidates(self, center: Tensor, kernel: Tensor,
                          pool: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Peaks of one level for T frames -> kernels [n, C], scores [n], labels [n]."""
        heat = center.sigmoid()
        heat = (heat + F.avg_pool2d(heat, pool, stride=1, padding=(pool - 1) // 2)) / 2
        heat = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
        t, c, h, w = heat.shape
        k = min(h * w, self.test_cfg['top_num'] // 2)
        # two-stage top-k of the reference: per class, then over classes
        cls_scores, cls_index = heat.reshape(t, c, -1).topk(k, dim=2)
        scores, index = cls_scores.reshape(t, -1).topk(k, dim=1)
        labels = torch.div(index, k, rounding_mode='floor')
        pos = cls_index.reshape(t, -1).gather(1, index)
        keep = scores > self.test_cfg['thing_thr']
        frame = torch.arange(t, device=heat.device)[:, None].expand(-1, k)[keep]
        kernels = kernel.flatten(2)[frame, :, pos[keep]]  # [n, C]
        return kernels, scores[keep], labels[keep]

    def _stuff_candidates(self, region: Tensor, kernel: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Stuff classes of one level over the T frames -> kernels [m, C], scores, labels."""
        prob = region.sigmoid().transpose(0, 1).flatten(1)  # [S+1, T*h*w]
        argmax = prob.argmax(0)
        classes, counts = torch.unique(argmax, return_counts=True)
        onehot = F.one_hot(argmax, prob.shape[0]).t().float()[classes]  # [m, T*h*w]
        scores = (prob[classes] * onehot).sum(1) / counts
        keep = scores > self.test_cfg['stuff_thr']
        kern = kernel.transpose(0, 1).flatten(1)  # [C, T*h*w]
        kernels = onehot[keep] @ kern.t() / kern.shape[1]
        return kernels, scores[keep], classes[keep]

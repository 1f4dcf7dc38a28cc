"""Clip-PanoFCN's masks and panoptic merge for one clip (spec clip_panofcn.md Sec. 4.4-4.6): the
fused kernels applied to every frame's encoded features, thing rescoring over the clip, then
things by score and stuff by area into tube-consistent panoptic maps."""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.registry import TASK_UTILS
from ...vps.base_clip_video_model import ClipPrediction


@TASK_UTILS.register_module()
class ClipMaskMerger:
    """Masks of the fused kernels over the ``T`` frames of a clip and their panoptic merge.

    Things: a fused kernel times every frame's features gives ``[T, h/4, w/4]`` mask logits;
    ``prob > mask_threshold`` is the mask, the score is multiplied by the mean probability
    inside the mask over the whole clip, candidates below ``score_threshold`` go, the best
    ``max_things`` stay; masks are upsampled by ``stride`` (bilinear), cropped to the unpadded
    input, resized to the original size and thresholded again.

    Stuff: the fused stuff kernels' probabilities (upsampled the same way) compete per pixel;
    the winning region channel is the pixel's stuff class (channel 0, the region head's "thing"
    channel, is no stuff; with no stuff kernel every pixel is channel 0).

    Merge, per clip: things in descending score with score >= ``thing_threshold``; in each
    frame a thing is rejected when its mask is empty or more than ``overlap_threshold`` of it
    is covered by things placed before; a thing rejected in every frame is dropped. By default
    a thing takes only the free pixels of its non-rejected frames (as image PanopticFCN). With
    ``overwrite_things=True`` it writes its whole mask in every frame over earlier things, as
    the released video code does (it computes the free-pixel mask and then discards it), so a
    later thing can hide an earlier one. Stuff: per stuff class the pixels of that class that
    no thing took; a class whose area *summed over the clip* is below ``stuff_area_limit`` is
    left void.

    Segments are tubes numbered things first (placement order), then stuff (class order);
    ``embeds`` are the L2-normalised fused kernels (the tracker's appearance of a thing).

    Args:
        num_thing_classes (int): thing labels are ``0..num_thing_classes-1``.
        num_stuff_classes (int): stuff region channels ``1..num_stuff_classes`` are labels
            ``num_thing_classes + channel - 1``.
        mask_threshold (float): ``INFERENCE.INST_THRES``. Defaults to 0.4.
        score_threshold (float): rescored thing score kept. Defaults to 0.05.
        max_things (int): ``TOP_NUM``. Defaults to 100.
        thing_threshold (float): ``COMBINE.INST_THRESH``. Defaults to 0.2.
        overlap_threshold (float): ``COMBINE.OVERLAP_THRESH``. Defaults to 0.5.
        stuff_area_limit (int): ``COMBINE.STUFF_AREA_LIMIT`` in pixels of the clip at the
            original size. Defaults to 4096.
        stride (int): stride of the encoded features. Defaults to 4.
        overwrite_things (bool): the released code's merge (see above). Defaults to False.
    """

    def __init__(self,
                 num_thing_classes: int,
                 num_stuff_classes: int,
                 mask_threshold: float = 0.4,
                 score_threshold: float = 0.05,
                 max_things: int = 100,
                 thing_threshold: float = 0.2,
                 overlap_threshold: float = 0.5,
                 stuff_area_limit: int = 4096,
                 stride: int = 4,
                 overwrite_things: bool = False) -> None:
        if num_thing_classes < 0 or num_stuff_classes < 0:
            raise ValueError(f'ClipMaskMerger: class counts must be >= 0, got '
                             f'{num_thing_classes} things and {num_stuff_classes} stuff')
        if max_things < 1 or stride < 1:
            raise ValueError(f'ClipMaskMerger: max_things and stride must be >= 1, got '
                             f'{max_things} and {stride}')
        self.num_thing_classes = num_thing_classes
        self.num_stuff_classes = num_stuff_classes
        self.num_classes = num_thing_classes + num_stuff_classes
        self.mask_threshold = mask_threshold
        self.score_threshold = score_threshold
        self.max_things = max_things
        self.thing_threshold = thing_threshold
        self.overlap_threshold = overlap_threshold
        self.stuff_area_limit = stuff_area_limit
        self.stride = stride
        self.overwrite_things = overwrite_things

    def resize(self, maps: Tensor, img_shape: Sequence[int], ori_shape: Sequence[int]) -> Tensor:
        """``[N, C, h, w]`` stride-``stride`` maps -> ``[N, C, H, W]`` at the original size
        (bilinear up, crop of the padding, bilinear resize)."""
        maps = F.interpolate(maps, scale_factor=self.stride, mode='bilinear',
                             align_corners=False)[..., :img_shape[0], :img_shape[1]]
        return F.interpolate(maps, size=tuple(ori_shape[:2]), mode='bilinear',
                             align_corners=False)

    def rescore_things(self, kernels: Tensor, scores: Tensor,
                       mask_features: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Thing mask probabilities ``[K, T, h, w]``, rescored scores and the kept candidates'
        indices (descending rescored score, at most ``max_things``)."""
        probs = torch.einsum('ke,tehw->kthw', kernels, mask_features).sigmoid()
        masks = probs > self.mask_threshold
        inside = (probs * masks).flatten(1).sum(1) / (masks.flatten(1).sum(1) + 1e-6)
        scores = scores * inside
        order = torch.sort(scores, descending=True, stable=True)[1]
        order = order[scores[order] >= self.score_threshold][:self.max_things]
        return probs[order], scores[order], order

    def stuff_channels(self, kernels: Tensor, channels: Tensor, mask_features: Tensor,
                       img_shape: Sequence[int], ori_shape: Sequence[int]) -> Tensor:
        """``[T, H, W]`` winning region channel per pixel (0 where no stuff kernel exists);
        one frame at a time, so memory holds one frame's stuff maps."""
        num_frames = mask_features.shape[0]
        out = mask_features.new_zeros((num_frames, *ori_shape[:2]), dtype=torch.long)
        if len(kernels) == 0:
            return out
        for t in range(num_frames):
            probs = torch.einsum('ue,ehw->uhw', kernels, mask_features[t]).sigmoid()
            probs = self.resize(probs[None], img_shape, ori_shape)[0]
            out[t] = channels[probs.argmax(dim=0)]
        return out

    def __call__(self, fused: dict, img_shape: Sequence[int],
                 ori_shape: Sequence[int]) -> ClipPrediction:
        """Merge one clip.

        Args:
            fused (dict): :class:`ClipKernelFusion` output: ``thing_kernels [K, E]``,
                ``thing_scores``, ``thing_labels``, ``stuff_kernels [U, E]``, ``stuff_scores``,
                ``stuff_labels`` (region channels) and ``mask_features [T, E, h, w]``.
            img_shape (tuple): ``(h, w)`` of the resized input before padding.
            ori_shape (tuple): ``(H, W)`` of the original frames.
        """
        features = fused['mask_features']
        if features.dim() != 4:
            raise ValueError(f'ClipMaskMerger: mask_features must be [T, E, h, w], got '
                             f'{tuple(features.shape)}')
        num_frames = features.shape[0]
        height, width = int(ori_shape[0]), int(ori_shape[1])
        device = features.device
        stuff_labels = fused['stuff_labels'].long()
        if len(stuff_labels) and (stuff_labels.min() < 0
                                  or stuff_labels.max() > self.num_stuff_classes):
            raise ValueError(f'ClipMaskMerger: stuff region channels must lie in [0, '
                             f'{self.num_stuff_classes}], got {stuff_labels.tolist()}')
        if len(torch.unique(stuff_labels)) != len(stuff_labels):
            raise ValueError(f'ClipMaskMerger: one fused stuff kernel per region channel, got '
                             f'channels {stuff_labels.tolist()}')
        thing_labels = fused['thing_labels'].long()
        if len(thing_labels) and (thing_labels.min() < 0
                                  or thing_labels.max() >= self.num_thing_classes):
            raise ValueError(f'ClipMaskMerger: thing labels must lie in [0, '
                             f'{self.num_thing_classes}), got {thing_labels.tolist()}')

        segment_map = torch.zeros((num_frames, height, width), dtype=torch.long, device=device)
        taken = torch.zeros((num_frames, height, width), dtype=torch.bool, device=device)
        labels, scores, embeds = [], [], []

        probs, thing_scores, order = self.rescore_things(fused['thing_kernels'],
                                                         fused['thing_scores'], features)
        for prob, score, index in zip(probs, thing_scores, order):
            if score < self.thing_threshold:
                break  # descending scores
            mask = self.resize(prob[None], img_shape, ori_shape)[0] > self.mask_threshold
            area = mask.flatten(1).sum(1)
            covered = (mask & taken).flatten(1).sum(1)
            accepted = (area > 0) & (covered <= self.overlap_threshold * area)
            if not accepted.any():
                continue
            if self.overwrite_things:
                write = mask
            else:
                write = mask & ~taken & accepted[:, None, None]
            labels.append(thing_labels[index])
            scores.append(score)
            embeds.append(F.normalize(fused['thing_kernels'][index], dim=0))
            segment_map[write] = len(labels)
            taken |= write
        num_things = len(labels)

        channels = self.stuff_channels(fused['stuff_kernels'], stuff_labels, features,
                                       img_shape, ori_shape)
        for u in torch.argsort(stuff_labels).tolist():
            channel = int(stuff_labels[u])
            if channel == 0:
                continue
            mask = (channels == channel) & ~taken
            if mask.sum() < self.stuff_area_limit:
                continue
            labels.append(stuff_labels.new_tensor(self.num_thing_classes + channel - 1))
            scores.append(fused['stuff_scores'][u])
            embeds.append(F.normalize(fused['stuff_kernels'][u], dim=0))
            segment_map[mask] = len(labels)

        dim = features.shape[1]
        segments = InstanceData(
            labels=torch.stack(labels) if labels else torch.zeros(0, dtype=torch.long,
                                                                  device=device),
            scores=torch.stack(scores).float() if scores else features.new_zeros(0),
            is_thing=torch.arange(len(labels), device=device) < num_things,
            embeds=torch.stack(embeds) if embeds else features.new_zeros(0, dim))
        lookup = torch.cat([segments.labels.new_full((1, ), self.num_classes), segments.labels])
        return ClipPrediction(sem_seg=lookup[segment_map], segment_map=segment_map,
                              segments=segments)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_thing_classes={self.num_thing_classes}, '
                f'num_stuff_classes={self.num_stuff_classes}, '
                f'overwrite_things={self.overwrite_things})')

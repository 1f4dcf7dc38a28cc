"""Clip-PanoFCN (Miao et al., CVPR 2022, the VIPSeg baseline): PanopticFCN on clips, clip-level
kernel aggregation and inter-clip kernel tracking (spec clip_panofcn.md)."""
import copy
from typing import Dict, List, Optional

import torch
from mmdet.structures import TrackDataSample, TrackSampleList
from mmengine.structures import PixelData
from torch import Tensor

from mmvps.registry import MODELS, TASK_UTILS
from ..heads.panoptic_fcn.clip_gt import get_clip_instance_gts
from .base_clip_video_model import BaseClipVideoModel, ClipPrediction


@MODELS.register_module()
class ClipPanopticFCN(BaseClipVideoModel):
    """Clip-PanoFCN on the shared clip-level loop (:class:`BaseClipVideoModel`).

    Training: clips of T consecutive frames with one augmentation are flattened to ``N * T``
    frames; backbone + FPN + :class:`PanopticFCNHead` give per-frame outputs and the head's
    losses use clip targets (:func:`get_clip_instance_gts`: one target per thing track across
    the clip); kernels are per frame, no clip fusion in training (spec Sec. 3).

    Inference on **non-overlapping** clips of C frames (``VideoClipSample(clip_length=C,
    test_mode=True)`` and ``VideoBalancedTestSampler(clip_length=C)``, ``clip_overlap=0``):
    :meth:`segment_clip` = the head's candidates of all frames and levels ->
    :class:`ClipKernelFusion` -> :class:`ClipMaskMerger` (each fused kernel segments every
    frame, so a thing is one tube in the clip); :meth:`associate` gives the thing tubes ids
    with the :class:`InterClipKernelTracker` (their L2-normalised fused kernels against the
    per-class memory).

    Images (``[B, 3, H, W]`` with ``DetDataSample``s, the COCO pretraining configs) are clips of
    one frame: the same losses, and a panoptic prediction per image without tracking.

    Args:
        backbone (dict): backbone config (ResNet).
        neck (dict): FPN config giving the levels the head indexes (P2..P7 for R-50).
        panoptic_head (dict): :class:`PanopticFCNHead` config.
        fusion (dict): :class:`ClipKernelFusion` config (``TASK_UTILS``).
        merger (dict): :class:`ClipMaskMerger` config; the class numbers come from the head.
        tracker (dict): :class:`InterClipKernelTracker` config (``MODELS``).
        clip_feature_fusion (dict, optional): :class:`ClipFeatureFusion` on the head levels
            (spec Sec. 3.6; None as released). With its learned frame weights a test clip
            shorter than those weights (a short video) is padded by repeating its last frame,
            as the released code does.
        data_preprocessor (dict, optional): mmdet ``TrackDataPreprocessor`` config.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 panoptic_head: dict,
                 fusion: dict = dict(type='ClipKernelFusion'),
                 merger: dict = dict(type='ClipMaskMerger'),
                 tracker: dict = dict(type='InterClipKernelTracker'),
                 clip_feature_fusion: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(tracker=tracker, stitching=None, use_stitching=False,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.panoptic_head = MODELS.build(panoptic_head)
        self.fusion = TASK_UTILS.build(fusion)
        merger = copy.deepcopy(merger)
        for key, value in (('num_thing_classes', self.panoptic_head.num_things),
                           ('num_stuff_classes', self.panoptic_head.num_stuff)):
            if merger.setdefault(key, value) != value:
                raise ValueError(f'ClipPanopticFCN: merger.{key}={merger[key]} but the head has '
                                 f'{value}')
        self.merger = TASK_UTILS.build(merger)
        self.clip_feature_fusion = MODELS.build(clip_feature_fusion) \
            if clip_feature_fusion is not None else None

    def _forward_frames(self, frames: Tensor, num_frames: int) -> Dict[str, object]:
        """Head outputs of ``[N * T, 3, H, W]`` frames (clips of ``num_frames``)."""
        feats = self.neck(self.backbone(frames))
        if self.clip_feature_fusion is None:
            return self.panoptic_head(feats)
        # the fused levels feed the position / kernel heads only; the Semantic FPN and the
        # feature encoder see the plain levels, as in the released code
        head = self.panoptic_head
        levels = self.clip_feature_fusion([feats[i] for i in head.head_levels], num_frames)
        mask_features = head.feature_encoder(
            head.semantic_fpn([feats[i] for i in head.semantic_levels]))
        centers, regions = zip(*[head.position_head(level) for level in levels])
        return dict(center=list(centers), region=list(regions),
                    kernels=[head.kernel_head(level) for level in levels],
                    mask_features=mask_features)

    @staticmethod
    def _check_clips(inputs: Tensor, what: str) -> None:
        if inputs.dim() != 5:
            raise ValueError(f'ClipPanopticFCN.{what} expects [N, T, 3, H, W] clips, got '
                             f'{tuple(inputs.shape)}')

    def loss(self, inputs: Tensor, data_samples: TrackSampleList, **kwargs) -> dict:
        """PanopticFCN losses (spec Sec. 3.5) of ``[N, T, 3, H, W]`` training clips (or
        ``[B, 3, H, W]`` images with ``DetDataSample``s)."""
        inputs, data_samples = self.images_as_clips(inputs, data_samples)
        self._check_clips(inputs, 'loss')
        if len(data_samples) != inputs.size(0):
            raise ValueError(f'ClipPanopticFCN.loss: {inputs.size(0)} clips but '
                             f'{len(data_samples)} data samples')
        num_frames = inputs.size(1)
        outputs = self._forward_frames(inputs.flatten(0, 1), num_frames)
        clip_gts = [get_clip_instance_gts(sample, self.panoptic_head.num_things)
                    for sample in data_samples]
        return self.panoptic_head.loss(outputs, clip_gts, tuple(inputs.shape[-2:]))

    def predict(self, inputs: Tensor, data_samples: list, **kwargs) -> list:
        """One test clip through the shared loop, or ``[B, 3, H, W]`` images: each image a clip
        of one frame, its things numbered 1, 2, ... (no tracking), ``pred_panoptic_seg`` in
        mmdet's panoptic convention (``label + id * 1000``, void = number of classes)."""
        if inputs.dim() != 4:
            return super().predict(inputs, data_samples, **kwargs)
        inputs, clips = self.images_as_clips(inputs, data_samples)
        for image, clip in zip(inputs, clips):
            prediction = self.segment_clip(image[None], clip)
            things = prediction.segments.is_thing.bool()
            ids = torch.cumsum(things.long(), 0) * things
            pan, _ = self.frame_output(prediction, 0, ids.to(prediction.segment_map.device))
            clip.video_data_samples[0].pred_panoptic_seg = PixelData(sem_seg=pan[None])
        return data_samples

    @torch.no_grad()
    def segment_clip(self, inputs: Tensor, track_sample: TrackDataSample) -> ClipPrediction:
        """Candidates of the clip's frames and levels -> fused kernels -> masks and merge."""
        self._check_clips(inputs, 'segment_clip')
        frames = inputs[0]
        num_frames = len(frames)
        weights = getattr(self.clip_feature_fusion, 'frame_weights', None)
        if weights is not None and num_frames < len(weights):
            pad = frames[-1:].expand(len(weights) - num_frames, -1, -1, -1)
            frames = torch.cat([frames, pad])
        outputs = self._forward_frames(frames, len(frames))
        candidates = self.panoptic_head.get_clip_candidates(outputs, len(frames))[0]
        meta = track_sample.video_data_samples[0].metainfo
        clip = self.merger(self.fusion(candidates), meta['img_shape'][:2],
                           meta['ori_shape'][:2])
        if len(frames) == num_frames:
            return clip
        return ClipPrediction(sem_seg=clip.sem_seg[:num_frames],
                              segment_map=clip.segment_map[:num_frames], segments=clip.segments)

    def associate(self, clip: ClipPrediction, frame_ids: List[int], num_overlap: int) -> Tensor:
        """Track ids of the clip's thing tubes from the inter-clip kernel memory (stuff 0).

        Clips do not overlap, except the shared loop's last clip of a video whose length is not
        a multiple of C: it ends at the last frame, and its first ``num_overlap`` frames keep
        the earlier clip's output (the released code cuts a shorter last clip instead). The
        memory sees every thing the merge kept, in its order, or in such a last clip the
        things present in its new frames."""
        segments = clip.segments
        num = len(segments.labels)
        device = clip.segment_map.device
        track_ids = torch.zeros(num, dtype=torch.long, device=device)
        things = segments.is_thing.bool().to(device)
        if num_overlap:
            present = torch.bincount(clip.segment_map[num_overlap:].reshape(-1),
                                     minlength=num + 1)[1:] > 0
            things &= present
        if things.any():
            if self.tracker is None:
                raise ValueError('ClipPanopticFCN: thing segments need the tracker (give '
                                 'model.tracker; a tiny cost_limit links no clips)')
            track_ids[things] = self.tracker.update(segments.labels[things],
                                                    segments.embeds[things]).to(device)
        return track_ids

    def _forward(self, inputs: Tensor, data_samples: Optional[TrackSampleList] = None,
                 **kwargs) -> Dict[str, object]:
        """Head outputs of the ``[N, T, 3, H, W]`` clips' frames (or of ``[B, 3, H, W]``
        images)."""
        inputs, _ = self.images_as_clips(inputs, data_samples or [])
        self._check_clips(inputs, '_forward')
        return self._forward_frames(inputs.flatten(0, 1), inputs.size(1))

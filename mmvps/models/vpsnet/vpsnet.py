"""VPSNet (Kim et al., CVPR 2020): an UPSNet-style image panoptic network with pixel-level
fusion of a reference frame (Fuse) and object-level tracking (Track)."""
import copy
import inspect
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmdet.structures import TrackDataSample, TrackSampleList
from mmdet.structures.bbox import get_box_tensor
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

from mmvps.registry import MODELS
from ..vps.base_clip_video_model import BaseClipVideoModel, ClipPrediction

# an image is a clip of one frame that is both the key and the reference frame
ONE_FRAME_CLIP = dict(key_frames_inds=[0], ref_frames_inds=[0])


@MODELS.register_module()
class VPSNet(BaseClipVideoModel):
    """VPSNet-Base / Fuse / Track / FuseTrack and the tracker baselines, chosen by config.

    Image part (spec §1): ResNet + FPN, an extra neck (``BFP(refine_level=0,
    refine_type='conv')`` for Base; a fusion neck whose ``forward(key_feats, ref_feats,
    key_img, ref_img)`` aligns and attends the reference frame for Fuse; none for the
    released Track model), RPN, :class:`VPSNetRoIHead` (Mask R-CNN), :class:`UPSNetSemanticHead`
    on P2-P5 and the parameter-free :class:`PanopticLogitsHead`. Track (spec §3): a
    :class:`VPSNetTrackHead` on 7x7 box RoI features; at inference the ``tracker``
    (:class:`VPSNetTracker`, or the baselines :class:`IoUMatchTracker`,
    :class:`ClassSortTracker`, :class:`PerFrameIdTracker`) gives the thing ids.

    Training takes a key and a reference frame per sample: all losses on the key frame (its
    features fused with the reference's when the extra neck fuses), the track loss between the
    key frame's sampled RoIs and the reference frame's ground-truth boxes on the reference's
    *unfused* FPN features; the reference gets no other loss.

    Images (``[B, 3, H, W]`` with ``DetDataSample``s, the COCO panoptic pretraining of the
    Base model) are clips of one frame that are their own reference: the same losses, and a
    panoptic prediction per image whose things are numbered by detection (no tracking).

    Inference is online on the shared clip loop (:class:`BaseClipVideoModel`, clips of one
    frame, no stitching): the reference is the previous frame (the first frame of a video its
    own), whose raw FPN features are cached, so each frame passes the backbone once; between
    frames only those features, the previous image and the tracker memory are kept. Every
    panoptic detection (score > 0.6 after class-agnostic NMS) enters the tracker, also those
    the mask removal drops (released behaviour); the output thing id is the tracker's id.

    Args:
        backbone, neck, rpn_head, roi_head, semantic_head, panoptic_head (dict): configs.
        tracker (dict): tracker config (see ``mmvps/models/vpsnet/trackers.py``).
        extra_neck (dict, optional): ``BFP`` or a fusion neck (see above).
        track_head (dict, optional): :class:`VPSNetTrackHead` (Track / FuseTrack).
        track_feats (str): key features of the track head, ``'fused'`` (after the extra neck,
            the paper's FuseTrack) or ``'unfused'`` (raw FPN: the "Disjoined" ablation).
        flow_estimator (dict, optional): flow from a frame to the previous one,
            ``forward(img, ref_img) -> [B, 2, H, W]`` in input pixels, for an
            ``IoUMatchTracker(use_flow=True)``.
        train_cfg, test_cfg (dict): ``rpn``, ``rpn_proposal``, ``rcnn`` (mmdet two-stage).
        data_preprocessor (dict): mmdet ``TrackDataPreprocessor`` config.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 rpn_head: dict,
                 roi_head: dict,
                 semantic_head: dict,
                 panoptic_head: dict,
                 tracker: dict,
                 extra_neck: Optional[dict] = None,
                 track_head: Optional[dict] = None,
                 track_feats: str = 'fused',
                 flow_estimator: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(tracker=tracker, stitching=None, use_stitching=False,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if track_feats not in ('fused', 'unfused'):
            raise ValueError(f"VPSNet: track_feats must be 'fused' or 'unfused', got "
                             f'{track_feats!r}')
        train_cfg = ConfigDict(train_cfg or {})
        test_cfg = ConfigDict(test_cfg or {})
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.extra_neck = MODELS.build(extra_neck) if extra_neck is not None else None
        self.with_fusion = self.extra_neck is not None and 'ref_feats' in inspect.signature(
            self.extra_neck.forward).parameters
        rpn_head = copy.deepcopy(rpn_head)
        rpn_head.update(train_cfg=train_cfg.get('rpn'), test_cfg=test_cfg.get('rpn'))
        self.rpn_head = MODELS.build(rpn_head)
        roi_head = copy.deepcopy(roi_head)
        roi_head.update(train_cfg=train_cfg.get('rcnn'), test_cfg=test_cfg.get('rcnn'))
        self.roi_head = MODELS.build(roi_head)
        self.semantic_head = MODELS.build(semantic_head)
        self.panoptic_head = MODELS.build(panoptic_head)
        self.track_head = MODELS.build(track_head) if track_head is not None else None
        self.track_feats = track_feats
        self.flow_estimator = MODELS.build(flow_estimator) if flow_estimator else None
        if getattr(self.tracker, 'use_flow', False) and self.flow_estimator is None:
            raise ValueError('VPSNet: IoUMatchTracker(use_flow=True) needs a flow_estimator')
        if type(self.tracker).__name__ == 'VPSNetTracker' and self.track_head is None:
            raise ValueError('VPSNet: VPSNetTracker needs a track_head (its embeddings)')

        num_things = self.roi_head.bbox_head.num_classes
        if self.panoptic_head.num_things != num_things:
            raise ValueError(f'VPSNet: the box head has {num_things} thing classes, the '
                             f'panoptic head {self.panoptic_head.num_things}')
        if self.semantic_head.num_classes != self.panoptic_head.num_classes:
            raise ValueError(f'VPSNet: the semantic head has {self.semantic_head.num_classes} '
                             f'classes, the panoptic head {self.panoptic_head.num_classes}')
        self.num_things = num_things
        self.num_classes = self.panoptic_head.num_classes

    # ----------------------------------------------------------------- features
    def extract_raw(self, img: Tensor) -> Tuple[Tensor]:
        """FPN features P2..P6 of ``[B, 3, H, W]`` images (before the extra neck)."""
        return tuple(self.neck(self.backbone(img)))

    def apply_extra_neck(self, feats: Tuple[Tensor], ref_feats: Optional[Tuple[Tensor]],
                         img: Tensor, ref_img: Optional[Tensor]) -> Tuple[Tensor]:
        if self.extra_neck is None:
            return feats
        if self.with_fusion:
            return tuple(self.extra_neck(feats, ref_feats=ref_feats, key_img=img,
                                         ref_img=ref_img))
        return tuple(self.extra_neck(feats))

    @property
    def needs_reference(self) -> bool:
        return self.with_fusion or self.track_head is not None

    # ----------------------------------------------------------------- training
    def loss(self, inputs: Tensor, data_samples: TrackSampleList, **kwargs) -> dict:
        """Losses of ``[B, 2, 3, H, W]`` key + reference samples (or ``[B, 3, H, W]`` images
        with ``DetDataSample``s, each its own reference) (spec §1.5): ``loss_rpn_*``,
        ``loss_cls``, ``loss_bbox``, ``loss_mask``, ``loss_segm``, ``loss_pano`` and, with a
        track head, ``loss_match``."""
        inputs, data_samples = self.images_as_clips(inputs, data_samples, ONE_FRAME_CLIP)
        if inputs.dim() != 5:
            raise ValueError(f'VPSNet.loss expects [B, T, 3, H, W] inputs, got '
                             f'{tuple(inputs.shape)}')
        key_inds, ref_inds, key_samples, ref_samples = [], [], [], []
        for sample in data_samples:
            keys = list(sample.key_frames_inds)
            refs = list(getattr(sample, 'ref_frames_inds', []) or [])
            if len(keys) != 1 or (self.needs_reference and len(refs) != 1):
                names = [frame.metainfo.get('img_path') for frame in sample]
                raise ValueError(f'VPSNet trains on one key frame (and one reference frame for '
                                 f'Fuse / Track), got key_frames_inds={keys}, '
                                 f'ref_frames_inds={refs} for {names}')
            key_inds.append(keys[0])
            key_samples.append(sample[keys[0]])
            ref_inds.append(refs[0] if refs else keys[0])
            ref_samples.append(sample[refs[0]] if refs else sample[keys[0]])
        for sample in key_samples + ref_samples:  # mmdet's heads take box tensors
            for field in ('gt_instances', 'ignored_instances'):
                if field in sample and 'bboxes' in sample.get(field):
                    sample.get(field).bboxes = get_box_tensor(sample.get(field).bboxes)
        batch = torch.arange(len(inputs), device=inputs.device)
        key_imgs = inputs[batch, torch.as_tensor(key_inds, device=inputs.device)]
        raw = self.extract_raw(key_imgs)
        ref_raw = ref_imgs = None
        if self.needs_reference and ref_inds == key_inds:  # images: their own reference
            ref_imgs, ref_raw = key_imgs, raw
        elif self.needs_reference:
            ref_imgs = inputs[batch, torch.as_tensor(ref_inds, device=inputs.device)]
            ref_raw = self.extract_raw(ref_imgs)
        x = self.apply_extra_neck(raw, ref_raw, key_imgs, ref_imgs)

        losses = dict()
        proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.get('rpn'))
        rpn_samples = copy.deepcopy(key_samples)
        for sample in rpn_samples:  # the RPN is class-agnostic
            sample.gt_instances.labels = torch.zeros_like(sample.gt_instances.labels)
        rpn_losses, rpn_results = self.rpn_head.loss_and_predict(
            x, rpn_samples, proposal_cfg=proposal_cfg)
        for name in list(rpn_losses):
            if 'loss' in name and 'rpn' not in name:
                rpn_losses[f'rpn_{name}'] = rpn_losses.pop(name)
        losses.update(rpn_losses)
        roi_losses, sampling_results = self.roi_head.loss_and_samples(x, rpn_results,
                                                                      key_samples)
        losses.update(roi_losses)
        losses.update(self._segmentation_losses(x, key_samples, key_imgs.shape[-2:]))
        if self.track_head is not None:
            track_x = x if self.track_feats == 'fused' else raw
            key_boxes = [res.bboxes for res in sampling_results]
            ref_boxes = [get_box_tensor(s.gt_instances.bboxes) for s in ref_samples]
            losses.update(self.track_head.loss(
                self.roi_head.box_roi_feats(track_x, key_boxes),
                self.roi_head.box_roi_feats(ref_raw, ref_boxes),
                [len(b) for b in key_boxes], [len(b) for b in ref_boxes], sampling_results,
                [s.gt_instances.instances_ids for s in key_samples],
                [s.gt_instances.instances_ids for s in ref_samples]))
        return losses

    def _segmentation_losses(self, x: Tuple[Tensor], samples: list,
                             pad_shape: Tuple[int, int]) -> dict:
        """``loss_segm`` (semantic CE at the input size) and ``loss_pano`` (panoptic CE at
        stride 4 on the ground-truth instances), each averaged over the images."""
        fcn_score, fcn_output = self.semantic_head(x)
        height, width = pad_shape
        sems, pano = [], []
        for i, sample in enumerate(samples):
            sem = sample.gt_sem_seg.sem_seg[0].long()
            gt_sem = sem.new_full((height, width), self.panoptic_head.ignore_index)
            gt_sem[:sem.shape[0], :sem.shape[1]] = sem[:height, :width]
            sems.append(gt_sem)
            gt = sample.gt_instances
            boxes = get_box_tensor(gt.bboxes).to(fcn_score.device)
            labels = gt.labels.long()
            masks = gt.masks.to_tensor(torch.bool, fcn_score.device) if len(labels) else \
                torch.zeros(0, *sem.shape, dtype=torch.bool, device=fcn_score.device)
            gt_masks = masks.new_zeros(len(labels), height, width)
            gt_masks[:, :masks.shape[1], :masks.shape[2]] = masks[:, :height, :width]
            x_i = tuple(level[i:i + 1] for level in x)
            mask_logits = self.roi_head.class_mask_logits(x_i, [boxes], [labels])[0]
            logits = self.panoptic_head.train_logits(fcn_score[i], mask_logits, boxes, labels)
            pano.append(self.panoptic_head.loss(logits,
                                                self.panoptic_head.train_target(gt_sem,
                                                                                gt_masks)))
        loss_segm = self.semantic_head.loss(fcn_output, torch.stack(sems))
        return dict(loss_segm=loss_segm, loss_pano=sum(pano) / len(pano))

    # ---------------------------------------------------------------- inference
    def predict(self, inputs: Tensor, data_samples: list, **kwargs) -> list:
        """One test clip through the shared online loop, or ``[B, 3, H, W]`` images: each image
        a clip of one frame that is its own reference, things numbered 1, 2, ... by detection
        (no tracking), ``pred_panoptic_seg`` in mmdet's panoptic convention (``label + id *
        1000``, void = number of classes) on the ``DetDataSample``s."""
        if inputs.dim() != 4:
            return super().predict(inputs, data_samples, **kwargs)
        inputs, clips = self.images_as_clips(inputs, data_samples, ONE_FRAME_CLIP)
        for image, clip in zip(inputs, clips):
            self.reset_video()  # no previous frame: the image is its own reference
            prediction = self.segment_clip(image[None], clip)
            ids = torch.arange(1, len(prediction.segments.labels) + 1,
                               device=prediction.segment_map.device)
            pan, _ = self.frame_output(prediction, 0, ids)
            clip.video_data_samples[0].pred_panoptic_seg = PixelData(sem_seg=pan[None])
        self.reset_video()
        return data_samples

    def reset_video(self, video: Optional[str] = None) -> None:
        """Also forget the cached previous frame."""
        super().reset_video(video)
        self._prev_raw: Optional[Tuple[Tensor]] = None
        self._prev_img: Optional[Tensor] = None
        self._flow: Optional[Tensor] = None

    def segment_clip(self, inputs: Tensor, track_sample: TrackDataSample) -> ClipPrediction:
        """Panoptic segmentation of a one-frame clip at the original size; ``segments`` are the
        frame's panoptic detections (``labels``, ``scores``, ``bboxes`` at the original size,
        ``embeds``), present in ``segment_map`` only where they won pixels."""
        if inputs.size(1) != 1:
            raise ValueError(f'VPSNet is online: test clips hold one frame, got '
                             f'{inputs.size(1)} (use VideoClipSample(clip_length=1))')
        frame = track_sample[0]
        img = inputs[:, 0].contiguous()
        raw = self.extract_raw(img)
        ref_raw = self._prev_raw if self._prev_raw is not None else raw
        ref_img = self._prev_img if self._prev_img is not None else img
        x = self.apply_extra_neck(raw, ref_raw, img, ref_img)
        meta = frame.metainfo
        self._flow = None
        if self.flow_estimator is not None:  # the image part of the (padded) flow
            flow = self.flow_estimator(img, ref_img)
            fh, fw = flow.shape[-2:]
            crop_h = round(meta['img_shape'][0] * fh / img.shape[-2])
            crop_w = round(meta['img_shape'][1] * fw / img.shape[-1])
            self._flow = flow[..., :crop_h, :crop_w]
        self._prev_raw, self._prev_img = raw, img

        rpn_results = self.rpn_head.predict(x, [frame], rescale=False)
        dets = self.roi_head.predict_panoptic_dets(x, [meta], rpn_results)[0]
        bboxes, labels, scores = dets.bboxes, dets.labels.long(), dets.scores
        if self.track_head is not None:
            track_x = x if self.track_feats == 'fused' else raw
            embeds = self.track_head.embed(self.roi_head.box_roi_feats(track_x, [bboxes]))
        else:
            embeds = bboxes.new_zeros(len(bboxes), 0)
        mask_logits = self.roi_head.class_mask_logits(x, [bboxes], [labels])[0]

        fcn_output = self.semantic_head(x)[1]
        img_h, img_w = meta['img_shape'][:2]
        ori_h, ori_w = meta['ori_shape'][:2]
        fcn_output = fcn_output[..., :img_h, :img_w]
        if (img_h, img_w) != (ori_h, ori_w):
            fcn_output = F.interpolate(fcn_output, size=(ori_h, ori_w), mode='bilinear',
                                       align_corners=False)
        scale = bboxes.new_tensor(meta.get('scale_factor', (1., 1.))).repeat(2)
        boxes_ori = bboxes / scale
        sem, inst = self.panoptic_head.predict(fcn_output[0], mask_logits, boxes_ori, labels)
        segments = InstanceData(labels=labels, scores=scores, bboxes=boxes_ori, embeds=embeds,
                                is_thing=torch.ones_like(labels, dtype=torch.bool))
        return ClipPrediction(sem_seg=sem[None], segment_map=inst[None], segments=segments)

    def associate(self, clip: ClipPrediction, frame_ids: List[int], num_overlap: int) -> Tensor:
        """Track ids of the frame's detections from the tracker (all detections, also those
        that won no pixel, enter it)."""
        segments = clip.segments
        segment_map = clip.segment_map[-1]
        num = len(segments.labels)
        present = torch.bincount(segment_map.reshape(-1), minlength=num + 1)[1:] > 0
        flow = None
        if self._flow is not None:
            flow = F.interpolate(self._flow, size=segment_map.shape, mode='bilinear',
                                 align_corners=False)[0]
            flow = flow * flow.new_tensor([segment_map.shape[1] / self._flow.shape[-1],
                                           segment_map.shape[0] / self._flow.shape[-2]]
                                          ).view(2, 1, 1)
        instances = InstanceData(bboxes=segments.bboxes, labels=segments.labels,
                                 scores=segments.scores, embeds=segments.embeds,
                                 present=present)
        return self.tracker.update(frame_id=frame_ids[-1], instances=instances,
                                   segment_map=segment_map, flow=flow)

    def _forward(self, inputs: Tensor, data_samples: Optional[TrackSampleList] = None,
                 **kwargs):
        """Semantic logits ``fcn_output`` of ``[B, 3, H, W]`` images (key frame, itself as
        the reference), for FLOP counting."""
        if inputs.dim() == 5:
            inputs = inputs[:, 0]
        raw = self.extract_raw(inputs)
        x = self.apply_extra_neck(raw, raw, inputs, inputs)
        return self.semantic_head(x)[1]

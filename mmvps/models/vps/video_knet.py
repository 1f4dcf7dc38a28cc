"""Video K-Net (Li et al., CVPR 2022): K-Net kernels that segment and track."""
from typing import List, Optional, Tuple

import torch
from mmdet.models.mot import BaseMOTModel
from mmdet.structures import DetDataSample, TrackSampleList
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.registry import MODELS
from mmvps.structures import INSTANCE_OFFSET
from ..heads.panoptic_kernel_targets import get_panoptic_gt


@MODELS.register_module()
class VideoKNet(BaseMOTModel):
    """Video K-Net: a K-Net detector whose last-stage kernels also track (Fig. 4).

    Training (Sec. 3.2-3.3) takes a key frame and one reference frame. Both get K-Net's
    segmentation losses; with kernel fusion the key frame's last stage fuses the reference
    frame's kernels. The thing kernels matched to ground truth are linked across the two frames
    (``kernel_linking``) and embedded (``track_head``), which learns from the contrastive loss
    (Eq. 1) and the auxiliary L2 loss (Eq. 2) on the mask-IoU samples of the matched kernels.

    Inference is online, one frame per call (mmdet's MOT test style; the state resets when
    ``frame_id == 0`` or the video changes): K-Net pastes the panoptic map (fusing the previous
    frame's kernels), the kernels of the kept thing segments are linked to those kept in the
    previous frame and embedded, and :class:`QuasiDenseKernelTracker` turns them into track ids
    written into the map. Only the previous frame's kernels and the tracker's bounded memory
    are kept between frames.

    ``link_mode='official'`` follows the official code instead: in training only the key frame
    is linked, all its ``N + S`` last-stage kernels attending to all ``N + S`` kernels of the
    reference frame (whose embeddings come from its unlinked kernels); at inference the first
    frame of a video is not linked and every later frame links all its kernels to all kernels
    of the previous frame before the kept thing kernels are picked. With a tracker using
    ``with_box_nms``, each kept segment's box is that of its mask restricted to the pixels whose
    semantic-head argmax is a thing class (official "semantic filter"; the whole mask without a
    semantic head).

    **VSS mode** (video semantic segmentation, VSPW; the paper's Tab. 4): a detector with stuff
    kernels only (``num_proposals=0``, no thing classes, ``merge_mode='semantic'``) and no
    ``track_head`` / ``tracker`` / ``kernel_linking``. Training is K-Net's losses on both frames
    with the key frame fusing the reference frame's kernels; inference fuses the previous
    frame's kernels and writes a semantic ``pred_panoptic_seg`` (class labels, no instances, no
    void) with an empty ``pred_track_instances``.

    Args:
        detector (dict): :class:`KNet` config (its ``kernel_iter_head`` may hold a
            ``kernel_fusion``).
        track_head (dict, optional): :class:`KernelAssociationEmbedHead` config; None (with
            ``tracker=None``) for the VSS mode.
        tracker (dict, optional): :class:`QuasiDenseKernelTracker` config; None for the VSS
            mode.
        kernel_linking (dict, optional): :class:`KernelLinking` config; None disables linking.
        link_mode (str): ``'matched'`` (mmvps, the paper's text) or ``'official'``.
        data_preprocessor (dict, optional): mmdet ``TrackDataPreprocessor`` config.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 detector: dict,
                 track_head: Optional[dict],
                 tracker: Optional[dict],
                 kernel_linking: Optional[dict] = None,
                 link_mode: str = 'matched',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if link_mode not in ('matched', 'official'):
            raise ValueError(f"VideoKNet: link_mode must be 'matched' or 'official', got "
                             f'{link_mode!r}')
        self.link_mode = link_mode
        if (track_head is None) != (tracker is None) or (track_head is None and kernel_linking):
            raise ValueError('VideoKNet: track_head and tracker go together (both None: the VSS '
                             'mode, which has no kernel_linking either); got track_head '
                             f'{track_head is not None}, tracker {tracker is not None}, '
                             f'kernel_linking {kernel_linking is not None}')
        self.detector = MODELS.build(detector)
        self.track_head = MODELS.build(track_head) if track_head is not None else None
        self.kernel_linking = MODELS.build(kernel_linking) if kernel_linking else None
        self.tracker = MODELS.build(tracker) if tracker is not None else None
        self.num_proposals = self.detector.kernel_iter_head.num_proposals
        if self.tracker is None and (self.num_proposals or self.detector.num_thing_classes):
            raise ValueError('VideoKNet without a tracker (VSS mode) needs a detector without '
                             f'thing kernels and thing classes, got {self.num_proposals} thing '
                             f'kernels and {self.detector.num_thing_classes} thing classes')
        self.with_kernel_fusion = self.detector.kernel_iter_head.kernel_fusion is not None
        if link_mode == 'matched' and getattr(self.kernel_linking, 'with_kernel_update', False):
            raise ValueError("VideoKNet: KernelLinking(with_kernel_update=True) links index-"
                             "aligned kernels and needs link_mode='official'")
        self._reset_online_state()

    def _reset_online_state(self, video: Optional[str] = None) -> None:
        """Forget the previous frame (kernels of the fusion and of the linking) and the
        tracklets."""
        if self.tracker is not None:
            self.tracker.reset()
        self._video = video
        self._previous_kernels = None
        self._previous_thing_kernels = None
        self._previous_all_kernels = None

    def link_and_embed(self, kernels: Tensor, ref_kernels: Optional[Tensor]) -> Tensor:
        """Association embeddings of ``[S, C]`` thing kernels linked to ``[M, C]`` kernels of
        the reference (previous) frame."""
        if self.kernel_linking is not None:
            kernels = self.kernel_linking(kernels, ref_kernels)
        return self.track_head(kernels)

    def loss(self, inputs: Tensor, data_samples: TrackSampleList, **kwargs) -> dict:
        """Segmentation losses of the key and reference frames plus the association losses.

        Args:
            inputs (Tensor): ``[B, 2, 3, H, W]`` images.
            data_samples (list[TrackDataSample]): one key and one reference frame each
                (``key_frames_inds`` / ``ref_frames_inds``) with ``gt_instances`` (labels, masks,
                instances_ids) and ``gt_sem_seg``.
        """
        if inputs.dim() != 5:
            raise ValueError(f'VideoKNet.loss expects [B, T, 3, H, W] inputs, got '
                             f'{tuple(inputs.shape)}')
        key_inds, ref_inds, key_samples, ref_samples = [], [], [], []
        for sample in data_samples:
            if len(sample.key_frames_inds) != 1 or len(sample.ref_frames_inds) != 1:
                names = [frame.metainfo.get('img_path') for frame in sample]
                raise ValueError(f'VideoKNet trains on one key and one reference frame, got '
                                 f'key_frames_inds={sample.key_frames_inds} and '
                                 f'ref_frames_inds={sample.ref_frames_inds} for {names}')
            key_inds.append(sample.key_frames_inds[0])
            ref_inds.append(sample.ref_frames_inds[0])
            key_samples.append(sample.get_key_frames()[0])
            ref_samples.append(sample.get_ref_frames()[0])
        batch = torch.arange(len(inputs), device=inputs.device)
        key_imgs = inputs[batch, torch.as_tensor(key_inds, device=inputs.device)]
        ref_imgs = inputs[batch, torch.as_tensor(ref_inds, device=inputs.device)]

        ref_losses, ref_results = self.detector.loss_and_kernels(ref_imgs, ref_samples)
        previous_kernels = torch.stack([res.kernels for res in ref_results]) \
            if self.with_kernel_fusion else None
        losses, key_results = self.detector.loss_and_kernels(
            key_imgs, key_samples, previous_kernels=previous_kernels)
        losses.update({f'ref_{name}': value for name, value in ref_losses.items()})
        if self.track_head is not None:
            losses.update(
                self._association_loss(key_results, ref_results, key_samples, ref_samples))
        return losses

    def _association_loss(self, key_results: List[InstanceData], ref_results: List[InstanceData],
                          key_samples: List[DetDataSample],
                          ref_samples: List[DetDataSample]) -> dict:
        embeds, labels, ids = {'key': [], 'ref': []}, {'key': [], 'ref': []}, \
            {'key': [], 'ref': []}
        for key_res, ref_res, key_sample, ref_sample in zip(key_results, ref_results,
                                                            key_samples, ref_samples):
            frames = dict(key=self._thing_samples(key_res, key_sample),
                          ref=self._thing_samples(ref_res, ref_sample))
            if self.link_mode == 'official':
                key_kernels = key_res.kernels
                if self.kernel_linking is not None:
                    key_kernels = self.kernel_linking(key_kernels, ref_res.kernels,
                                                      group_feats=key_res.group_feats)
                for name, kernels, res in (('key', key_kernels, frames['key']),
                                           ('ref', ref_res.kernels, frames['ref'])):
                    embeds[name].append(self.track_head(kernels[res[4]]))
                    labels[name].append(res[2])
                    ids[name].append(res[3])
                continue
            for name, other in (('key', 'ref'), ('ref', 'key')):
                kernels, matched_kernels, sample_labels, sample_ids, _ = frames[name]
                embeds[name].append(self.link_and_embed(kernels, frames[other][1]))
                labels[name].append(sample_labels)
                ids[name].append(sample_ids)
        return self.track_head.loss(embeds['key'], embeds['ref'], labels['key'], ids['key'],
                                    labels['ref'], ids['ref'])

    def _thing_samples(self, result: InstanceData, data_sample: DetDataSample
                       ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """One frame's association samples among its thing kernels matched to a GT track:
        ``(sample kernels [S, C], all matched thing kernels [M, C], GT labels [S], GT track ids
        [S] (0 for negative samples), kernel indices of the samples [S])``."""
        thing = slice(0, self.num_proposals)
        mask_preds = result.mask_preds[thing]
        gt = get_panoptic_gt(data_sample, self.detector.num_thing_classes,
                             self.detector.num_stuff_classes, mask_preds.shape[-2:])
        assigned = torch.where(result.assigned_instances_ids[thing] > 0,
                               result.assigned_gt_inds[thing], -1)
        kernels = result.kernels[thing]
        inds, gt_inds = self.track_head.sample_kernels(mask_preds, gt.masks, assigned)
        is_object = gt_inds >= 0
        safe_inds = gt_inds.clamp(min=0)
        labels = torch.where(is_object, gt.labels[safe_inds], -1)
        ids = torch.where(is_object, gt.instances_ids[safe_inds], 0)
        return kernels[inds], kernels[assigned >= 0], labels, ids, inds

    def predict(self,
                inputs: Tensor,
                data_samples: TrackSampleList,
                rescale: bool = True,
                **kwargs) -> TrackSampleList:
        """Segment and track the frames of one sample in order (usually one frame per call).

        Each frame's data sample gets ``pred_panoptic_seg`` (``PixelData(sem_seg=[1, H, W])``,
        ``label + track_id * INSTANCE_OFFSET``, thing track ids >= 1, stuff 0, void =
        ``num_classes``) and ``pred_track_instances`` (``labels``, ``scores``, ``instances_id``
        of the kept thing segments).
        """
        if inputs.dim() != 5 or inputs.size(0) != 1 or len(data_samples) != 1:
            raise ValueError(f'VideoKNet.predict takes one video sample per call ([1, T, 3, H, '
                             f'W] inputs), got {tuple(inputs.shape)} and {len(data_samples)} '
                             'samples')
        track_sample = data_samples[0]
        for t in range(len(track_sample)):
            frame = track_sample[t]
            frame_id = frame.metainfo['frame_id']
            video = frame.metainfo.get('video_name')
            if frame_id == 0 or video != self._video:
                self._reset_online_state(video)
            self._predict_frame(inputs[:, t].contiguous(), frame, frame_id, rescale)
        return [track_sample]

    def _predict_frame(self, img: Tensor, frame: DetDataSample, frame_id: int,
                       rescale: bool) -> None:
        self.detector.predict(
            img, [frame], rescale=rescale, previous_kernels=self._previous_kernels)
        segments = frame.pred_instances
        kernels = frame.pred_kernels
        thing_kernels = kernels[segments.kernel_inds]
        if self.tracker is None:  # VSS mode: the semantic map as it is, nothing to track
            frame.pred_track_instances = InstanceData(
                labels=segments.labels, scores=segments.scores,
                instances_id=segments.instance_ids)
            self._drop_detector_outputs(frame)
            self._previous_kernels = kernels[None] if self.with_kernel_fusion else None
            return
        if self.link_mode == 'official':
            linked = kernels
            if self.kernel_linking is not None and self._previous_all_kernels is not None:
                linked = self.kernel_linking(kernels, self._previous_all_kernels,
                                             group_feats=frame.pred_group_feats)
            embeds = self.track_head(linked[segments.kernel_inds])
        else:
            embeds = self.link_and_embed(thing_kernels, self._previous_thing_kernels)
        pan = frame.pred_panoptic_seg.sem_seg
        bboxes = None
        if getattr(self.tracker, 'with_box_nms', False):
            bboxes = self.segment_boxes(pan[0], segments.instance_ids,
                                        frame.get('pred_seg_logits'))
        track_ids = self.tracker.track(embeds, segments.labels, segments.scores, frame_id,
                                       bboxes=bboxes)

        instances = pan // INSTANCE_OFFSET
        instance_to_track = torch.zeros(
            int(instances.max()) + 1, dtype=torch.long, device=pan.device)
        instance_to_track[segments.instance_ids] = track_ids
        frame.pred_panoptic_seg.sem_seg = pan % INSTANCE_OFFSET + \
            instance_to_track[instances] * INSTANCE_OFFSET
        frame.pred_track_instances = InstanceData(
            labels=segments.labels, scores=segments.scores, instances_id=track_ids)
        self._drop_detector_outputs(frame)
        self._previous_kernels = kernels[None] if self.with_kernel_fusion else None
        self._previous_thing_kernels = thing_kernels
        self._previous_all_kernels = kernels

    @staticmethod
    def _drop_detector_outputs(frame: DetDataSample) -> None:
        """Remove the detector's intermediate outputs from a frame's data sample."""
        del frame.pred_instances
        del frame.pred_kernels
        del frame.pred_group_feats
        if 'pred_seg_logits' in frame:
            del frame.pred_seg_logits

    def segment_boxes(self, pan: Tensor, instance_ids: Tensor,
                      seg_logits: Optional[Tensor] = None) -> Tensor:
        """``[S, 4]`` boxes (x1, y1, x2, y2; max coordinates inclusive) of the thing segments
        ``instance_ids`` of a panoptic map ``[H, W]``, restricted to the pixels where the
        semantic logits ``[num_classes, h, w]`` (resized to the map) pick a thing class; an
        empty segment gets (-1, -1, 10, 10) as in the official code."""
        masks = (pan // INSTANCE_OFFSET)[None] == instance_ids[:, None, None]
        masks &= (pan % INSTANCE_OFFSET)[None] < self.detector.num_thing_classes
        if seg_logits is not None:
            seg = torch.nn.functional.interpolate(
                seg_logits[None], size=pan.shape, mode='bilinear', align_corners=False)[0]
            masks &= (seg.argmax(0) < self.detector.num_thing_classes)[None]
        boxes = pan.new_tensor([-1., -1., 10., 10.], dtype=torch.float).repeat(len(masks), 1)
        for i, mask in enumerate(masks):
            ys, xs = torch.nonzero(mask, as_tuple=True)
            if len(ys):
                boxes[i] = torch.stack([xs.min(), ys.min(), xs.max(), ys.max()]).float()
        return boxes

    def _forward(self, inputs: Tensor, data_samples: Optional[TrackSampleList] = None,
                 **kwargs) -> Tuple[Tensor, ...]:
        """Network of a ``[B, T, 3, H, W]`` clip without post-processing: per frame the last
        stage's class and mask logits and (not in the VSS mode) the association embeddings of
        all thing kernels, each frame fusing and linking the previous one's kernels (as online
        inference does)."""
        outputs, previous, previous_things, previous_all = [], None, None, None
        for t in range(inputs.size(1)):
            kernels, feats, mask_preds = self.detector.kernel_head(
                self.detector.extract_feat(inputs[:, t]))
            outputs_t, group_feats = self.detector.kernel_iter_head(
                feats, kernels, mask_preds, previous_kernels=previous, return_group_feats=True)
            cls_scores, mask_preds, kernels = outputs_t[-1]
            things = kernels[:, :self.num_proposals]
            if self.track_head is None:  # VSS mode
                outputs += [cls_scores, mask_preds]
                previous = kernels if self.with_kernel_fusion else None
                continue
            if self.kernel_linking is None:
                linked = things
            elif self.link_mode == 'official':
                linked = kernels if previous_all is None else \
                    self.kernel_linking(kernels, previous_all, group_feats=group_feats)
                linked = linked[:, :self.num_proposals]
            else:
                linked = self.kernel_linking(things, previous_things)
            outputs += [cls_scores, mask_preds, self.track_head(linked)]
            previous = kernels if self.with_kernel_fusion else None
            previous_things, previous_all = things, kernels
        return tuple(outputs)

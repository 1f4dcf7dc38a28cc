"""TCB (Temporal Context Blending, VSPW CVPR 2021): PSPNet / OCRNet and their video versions
TCB-st-ppm, TCB-st-ocr and TCB-st-ocr-mem, streamed through the shared clip loop."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.structures import TrackDataSample, TrackSampleList
from mmengine.structures import InstanceData
from torch import Tensor

from mmvps.registry import MODELS
from mmvps.structures.panoptic import IGNORE_INDEX
from ..heads.tcb import FrameContextCache, STOCRHead
from .base_clip_video_model import BaseClipVideoModel, ClipPrediction


@MODELS.register_module()
class TCBSegmentor(BaseClipVideoModel):
    """Video semantic segmentor: dilated backbone (layer3, layer4), :class:`FCNAuxHead` on
    layer3 (deep supervision; OCR's soft regions) and a TCB head (:class:`STPPMHead` or
    :class:`STOCRHead`) that blends per-frame summaries of a target frame and its references.

    Training (:meth:`loss`): ``[B, T, 3, H, W]`` clips, frame 0 the target, frames 1.. the
    references (``TemporalOffsetFrameSample``; T = 1 trains the image baseline). All frames go
    through the backbone in one batch; loss = CE(main, target) + 0.4 CE(aux, all frames),
    logits upsampled bilinearly to the input size, 255 ignored, mean over valid pixels.

    Testing (:meth:`segment_clip` through :class:`BaseClipVideoModel`; semantic only, no
    tracker; predictions are ``pred_panoptic_seg`` with every pixel a stuff class, read by
    ``VideoSemSegMetric`` and the VSPW writer):

    * ``inference='stream'`` (default, causal): test clips of consecutive new frames (clip
      length 1 is the usual). Each frame runs the backbone once; its summary (pooled bins or
      region vectors) goes into a :class:`FrameContextCache`; references are frames
      ``t - d`` for ``d`` in ``ref_offsets``, clamped to frame 0. In eval mode this equals
      clip inference on those past frames.
    * ``inference='release'`` (the released code, offline): the test clip must be the whole
      video (``VideoClipSample(clip_length >= longest video)``); references are the future
      frames ``t + d`` unless ``t + max(d)`` is past the end, then ``t - d`` (clamped to 0;
      the released code wraps negative indices). Each frame's backbone still runs once.

    With a ``memory`` (:class:`ObjectRegionMemory`, st-ocr only) the blended regions come from
    the memory (mode ``'window'``: mean of the last ``size`` frames of the stream;
    ``'first_clip'``: the released arithmetic) instead of the plain mean over the references.

    Args:
        backbone (dict): e.g. ``ContractDilatedResNet`` / mmdet ``ResNet`` with
            ``out_indices=(2, 3)``, output stride 8.
        aux_head (dict): :class:`FCNAuxHead` config.
        decode_head (dict): :class:`STPPMHead` or :class:`STOCRHead` config.
        ref_offsets (Sequence[int]): test reference offsets. Defaults to (3, 6, 9); () = the
            image baseline.
        inference (str): ``'stream'`` or ``'release'``.
        memory (dict, optional): :class:`ObjectRegionMemory` config (test time only).
        loss_decode (dict): main loss (mmdet ``CrossEntropyLoss``).
        loss_aux (dict): aux loss (weight 0.4).
        data_preprocessor (dict, optional): mmdet ``TrackDataPreprocessor`` config.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 aux_head: dict,
                 decode_head: dict,
                 ref_offsets: Sequence[int] = (3, 6, 9),
                 inference: str = 'stream',
                 memory: Optional[dict] = None,
                 loss_decode: dict = dict(type='CrossEntropyLoss', use_sigmoid=False,
                                          ignore_index=IGNORE_INDEX, avg_non_ignore=True,
                                          loss_weight=1.0),
                 loss_aux: dict = dict(type='CrossEntropyLoss', use_sigmoid=False,
                                       ignore_index=IGNORE_INDEX, avg_non_ignore=True,
                                       loss_weight=0.4),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(tracker=None, stitching=None, use_stitching=False,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if inference not in ('stream', 'release'):
            raise ValueError(f"TCBSegmentor: inference must be 'stream' or 'release', got "
                             f'{inference!r}')
        self.ref_offsets = tuple(int(d) for d in ref_offsets)
        if any(d < 1 for d in self.ref_offsets):
            raise ValueError(f'TCBSegmentor: ref_offsets must be >= 1, got {ref_offsets}')
        self.inference = inference
        self.backbone = MODELS.build(backbone)
        self.aux_head = MODELS.build(aux_head)
        self.decode_head = MODELS.build(decode_head)
        if self.aux_head.num_classes != self.decode_head.num_classes:
            raise ValueError(f'TCBSegmentor: aux_head has {self.aux_head.num_classes} classes, '
                             f'decode_head {self.decode_head.num_classes}')
        self.num_classes = self.decode_head.num_classes
        if memory is not None and not isinstance(self.decode_head, STOCRHead):
            raise ValueError('TCBSegmentor: the object-region memory needs an STOCRHead, got '
                             f'{type(self.decode_head).__name__}')
        self.memory = MODELS.build(copy.deepcopy(memory)) if memory is not None else None
        self.cache = FrameContextCache(max(self.ref_offsets, default=0))
        self.loss_decode = MODELS.build(loss_decode)
        self.loss_aux = MODELS.build(loss_aux)

    def reset_video(self, video: Optional[str] = None) -> None:
        """A new video: forget the clip loop's state, the frame cache and the memory."""
        super().reset_video(video)
        if getattr(self, 'cache', None) is not None:
            self.cache.reset(video)
        if getattr(self, 'memory', None) is not None:
            self.memory.reset()

    # ---------------------------------------------------------------- per-frame features
    def frame_features(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """``[N, 3, H, W]`` frames -> aux logits, head pixels and per-frame summaries."""
        feats = self.backbone(images)
        if len(feats) != 2:
            raise ValueError(f'TCBSegmentor: the backbone must return (layer3, layer4), got '
                             f'{len(feats)} maps; set out_indices=(2, 3)')
        aux = self.aux_head(feats[0])
        pixels, summaries = self.decode_head.frame_features(feats[1], aux)
        return aux, pixels, summaries

    def clip_logits(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """``[B, T, 3, H, W]`` clips (target first) -> target logits ``[B, K, h, w]`` and aux
        logits ``[B * T, K, h, w]`` (clip inference; T = 1 is the image model)."""
        if inputs.dim() != 5:
            raise ValueError(f'TCBSegmentor expects [B, T, 3, H, W] clips, got '
                             f'{tuple(inputs.shape)}')
        batch, num = inputs.shape[:2]
        aux, pixels, summaries = self.frame_features(inputs.flatten(0, 1))
        context = self.decode_head.blending(summaries.unflatten(0, (batch, num)))
        logits = self.decode_head.decode(pixels.unflatten(0, (batch, num))[:, 0], context)
        return logits, aux

    def _forward(self, inputs: Tensor, data_samples: Optional[TrackSampleList] = None,
                 **kwargs) -> Tensor:
        return self.clip_logits(inputs)[0]

    # ---------------------------------------------------------------- training
    @staticmethod
    def _padded_labels(frames: List, size: Tuple[int, int], device) -> Tensor:
        labels = torch.full((len(frames), *size), IGNORE_INDEX, dtype=torch.long, device=device)
        for i, frame in enumerate(frames):
            if 'gt_sem_seg' not in frame:
                raise ValueError(f'{frame.metainfo.get("img_path")}: TCB training needs '
                                 'gt_sem_seg (pack gt_seg_map)')
            sem = frame.gt_sem_seg.sem_seg[0]
            h, w = min(sem.shape[0], size[0]), min(sem.shape[1], size[1])
            labels[i, :h, :w] = sem[:h, :w]
        return labels

    def loss(self, inputs: Tensor, data_samples: TrackSampleList, **kwargs) -> Dict[str, Tensor]:
        """Main CE on each clip's target (frame 0), aux CE on all its frames."""
        logits, aux = self.clip_logits(inputs)
        size = tuple(inputs.shape[-2:])
        frames = [list(sample.video_data_samples) for sample in data_samples]
        if any(len(f) != inputs.size(1) for f in frames):
            raise ValueError(f'TCBSegmentor.loss: {[len(f) for f in frames]} data samples for '
                             f'clips of {inputs.size(1)} frames')
        targets = self._padded_labels([f[0] for f in frames], size, inputs.device)
        all_labels = self._padded_labels([x for f in frames for x in f], size, inputs.device)
        up = dict(size=size, mode='bilinear', align_corners=False)
        return dict(
            loss_decode=self.loss_decode(F.interpolate(logits, **up), targets),
            loss_aux=self.loss_aux(F.interpolate(aux, **up), all_labels))

    # ---------------------------------------------------------------- inference
    def _blend(self, clip_summaries: Tensor) -> Tensor:
        """``[n, ...]`` summaries of one target (first) and its references -> ``[1, ...]``."""
        if self.memory is not None:
            return self.memory(clip_summaries)[None]
        return self.decode_head.blending(clip_summaries[None])

    def _semantic_map(self, logits: Tensor, frame) -> Tensor:
        """``[1, K, h, w]`` logits -> ``[H, W]`` classes at the frame's original size."""
        meta = frame.metainfo
        pad = tuple(meta.get('batch_input_shape', meta.get('img_shape')))
        img_h, img_w = meta.get('img_shape', pad)[:2]
        logits = F.interpolate(logits, size=pad[:2], mode='bilinear', align_corners=False)
        logits = logits[..., :img_h, :img_w]
        ori = tuple(meta.get('ori_shape', (img_h, img_w)))[:2]
        if ori != (img_h, img_w):
            logits = F.interpolate(logits, size=ori, mode='bilinear', align_corners=False)
        return logits.argmax(dim=1)[0]

    def stream_logits(self, image: Tensor, frame_id: int) -> Tensor:
        """Causal step: logits ``[1, K, h, w]`` of frame ``frame_id`` (``[1, 3, H, W]``)
        with references ``max(frame_id - d, 0)`` from the cache."""
        aux, pixels, summary = self.frame_features(image)
        self.cache.put(frame_id, summary[0])
        refs = [self.cache.get(max(frame_id - d, 0)) for d in self.ref_offsets]
        context = self._blend(torch.stack([summary[0], *refs]))
        return self.decode_head.decode(pixels, context)

    def release_reference_ids(self, t: int, video_length: int) -> List[int]:
        """The released code's test references of frame ``t``: ``t + d``, or ``t - d`` when
        ``t + max(d)`` is past the last frame (clamped to 0)."""
        if not self.ref_offsets:
            return []
        if t + max(self.ref_offsets) >= video_length:
            return [max(t - d, 0) for d in self.ref_offsets]
        return [t + d for d in self.ref_offsets]

    def segment_clip(self, inputs: Tensor, track_sample: TrackDataSample) -> ClipPrediction:
        frames = list(track_sample.video_data_samples)
        where = frames[0].metainfo.get('img_path', 'clip')
        if len(track_sample.metainfo.get('key_frames_inds', frames)) != len(frames):
            raise ValueError(f'{where}: TCB test clips must not overlap (clip_overlap=0)')
        frame_ids = [int(f.metainfo['frame_id']) for f in frames]
        maps = []
        if self.inference == 'stream':
            for t, frame in enumerate(frames):
                maps.append(self._semantic_map(self.stream_logits(inputs[:, t], frame_ids[t]),
                                               frame))
        else:
            length = int(frames[0].metainfo.get('ori_video_length', len(frames)))
            if frame_ids[0] != 0 or len(frames) != length:
                raise ValueError(f"{where}: inference='release' needs the whole video as one "
                                 f'test clip (got frames {frame_ids[0]}..{frame_ids[-1]} of '
                                 f'{length}); set the clip_length of VideoClipSample and the '
                                 'sampler to at least the longest video')
            pixels, summaries = [], []
            for t in range(len(frames)):
                _, pix, summary = self.frame_features(inputs[:, t])
                pixels.append(pix)
                summaries.append(summary[0])
            for t, frame in enumerate(frames):
                refs = [summaries[i] for i in self.release_reference_ids(t, length)]
                context = self._blend(torch.stack([summaries[t], *refs]))
                maps.append(self._semantic_map(self.decode_head.decode(pixels[t], context),
                                               frame))
        sem_seg = torch.stack(maps)
        empty = torch.zeros(0, dtype=torch.long, device=sem_seg.device)
        segments = InstanceData(labels=empty, scores=empty.float(), is_thing=empty.bool())
        return ClipPrediction(sem_seg=sem_seg, segment_map=torch.zeros_like(sem_seg),
                              segments=segments)

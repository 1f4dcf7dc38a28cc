"""clip-kMaX (Video-kMaX, Shin et al., WACV 2024, Sec. 3.1): kMaX-DeepLab on clips of T frames.

T = 1 is the image model kMaX-DeepLab (Yu et al., ECCV 2022), so the same class trains the image
pretraining configs and segments the clips of the video models.
"""
import copy
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.detectors import BaseDetector
from mmdet.structures import SampleList, TrackDataSample
from mmengine.structures import PixelData
from torch import Tensor

from mmvps.registry import MODELS, TASK_UTILS
from mmvps.structures import INSTANCE_OFFSET
from ..heads.kmax import get_clip_panoptic_targets
from ..vps.base_clip_video_model import ClipPrediction

Clips = Union[SampleList, List[TrackDataSample]]


@MODELS.register_module()
class ClipKMaX(BaseDetector):
    """Within-clip segmenter of Video-kMaX: backbone and kMaX pixel decoder per frame, one kMaX
    transformer decoder over the T frames stacked along the height (``[B*T, C, H, W] ->
    [B, C, T*H, W]``), so every query is a mask tube through the clip.

    Inputs are ``[B, T, 3, H, W]`` clips with one ``TrackDataSample`` each, or ``[B, 3, H, W]``
    images with one ``DetDataSample`` each (clips of one frame). Every input is zero-padded
    right/bottom to the fixed ``input_size`` after normalisation, as kMaX-DeepLab does, since the
    axial attention's relative position tables are built for that size.

    Args:
        backbone (dict): mmdet ``ResNet`` / ``SwinTransformer`` or mmvps ``ConvNeXt``.
        pixel_decoder (dict): :class:`KMaXPixelDecoder`.
        transformer_decoder (dict): :class:`KMaXTransformerDecoder`.
        criterion (dict): :class:`KMaXCriterion`.
        post_processor (dict): :class:`ClipPanopticPostProcessor`.
        num_thing_classes (int): things come first in the label space.
        num_stuff_classes (int): stuff classes after them.
        input_size (tuple[int, int]): fixed padded ``(h, w)``, a multiple of 32.
        semantic_head (dict, optional): :class:`KMaXSemanticHead` (auxiliary, training only).
        data_preprocessor (dict, optional): mmdet ``DetDataPreprocessor`` (images) or
            ``TrackDataPreprocessor`` (clips), mean = std = 127.5 in RGB.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 pixel_decoder: dict,
                 transformer_decoder: dict,
                 criterion: dict,
                 post_processor: dict,
                 num_thing_classes: int,
                 num_stuff_classes: int,
                 input_size: Tuple[int, int],
                 semantic_head: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if input_size[0] % 32 or input_size[1] % 32:
            raise ValueError(f'input_size must be a multiple of 32, got {input_size}')
        self.num_thing_classes = num_thing_classes
        self.num_stuff_classes = num_stuff_classes
        self.num_classes = num_thing_classes + num_stuff_classes
        self.input_size = tuple(input_size)
        self.backbone = MODELS.build(backbone)
        self.pixel_decoder = MODELS.build(pixel_decoder)
        self.transformer_decoder = MODELS.build(transformer_decoder)
        self.semantic_head = MODELS.build(semantic_head) if semantic_head else None
        self.criterion = MODELS.build(criterion)
        post_processor = copy.deepcopy(post_processor)
        post_processor.setdefault('num_thing_classes', num_thing_classes)
        post_processor.setdefault('num_stuff_classes', num_stuff_classes)
        self.post_processor = TASK_UTILS.build(post_processor)

    # ------------------------------------------------------------------ network
    def _as_frames(self, inputs: Tensor) -> Tuple[Tensor, int]:
        """``[B, T, 3, H, W]`` or ``[B, 3, H, W]`` -> frames ``[B*T, 3, h, w]`` zero-padded to
        ``input_size``, and T."""
        num_frames = inputs.size(1) if inputs.dim() == 5 else 1
        frames = inputs.flatten(0, 1) if inputs.dim() == 5 else inputs
        height, width = frames.shape[-2:]
        if height > self.input_size[0] or width > self.input_size[1]:
            raise ValueError(
                f'ClipKMaX: input frames of {height}x{width} exceed the fixed input_size '
                f'{self.input_size[0]}x{self.input_size[1]}; resize them in the pipeline')
        frames = F.pad(frames, (0, self.input_size[1] - width, 0, self.input_size[0] - height))
        return frames, num_frames

    def extract_feat(self, frames: Tensor) -> tuple:
        """Backbone features of ``[B*T, 3, h, w]`` padded frames (OS4 to OS32)."""
        return self.backbone(frames)

    def forward_clips(self, inputs: Tensor) -> Tuple[dict, Optional[Tensor]]:
        """Decoder outputs of the clips (``class_logits [B, N, C+1]``, ``mask_logits
        [B, N, T, h/4, w/4]``, ``pixel_feature``, ``queries``, ``aux_outputs``) and the
        auxiliary semantic logits ``[B*T, C, h/4, w/4]`` (None without the head)."""
        frames, num_frames = self._as_frames(inputs)
        feats = self.extract_feat(frames)
        multi_scale, panoptic_feature = self.pixel_decoder(feats)
        outputs = self.transformer_decoder(multi_scale, panoptic_feature, num_frames=num_frames)
        semantic_logits = self.semantic_head(feats) \
            if self.semantic_head is not None and self.training else None
        return outputs, semantic_logits

    def _forward(self, batch_inputs: Tensor, batch_data_samples: Optional[Clips] = None):
        outputs, _ = self.forward_clips(batch_inputs)
        return outputs['class_logits'], outputs['mask_logits']

    # ----------------------------------------------------------------- training
    @staticmethod
    def _clips_of(batch_data_samples: Clips) -> List[TrackDataSample]:
        return [sample if isinstance(sample, TrackDataSample) else
                TrackDataSample(video_data_samples=[sample]) for sample in batch_data_samples]

    def loss(self, batch_inputs: Tensor, batch_data_samples: Clips) -> dict:
        """kMaX losses of the final and the six auxiliary outputs on tube targets (one target
        per thing track and per stuff class of the clip, one Hungarian matching per clip)."""
        clips = self._clips_of(batch_data_samples)
        outputs, semantic_logits = self.forward_clips(batch_inputs)
        mask_size = outputs['mask_logits'].shape[-2:]
        targets = []
        for clip in clips:
            for frame in clip:  # the GT is padded like the inputs, to the fixed size
                frame.set_metainfo(dict(batch_input_shape=self.input_size))
            targets.append(get_clip_panoptic_targets(clip, self.num_thing_classes,
                                                     self.num_stuff_classes, mask_size))
        return self.criterion(outputs, semantic_logits, targets)

    # ---------------------------------------------------------------- inference
    def _mask_logits_at(self, mask_logits: Tensor, meta: dict, rescale: bool) -> Tensor:
        """``[N, T, h/4, w/4]`` logits -> padded input size, padding cropped, then the original
        image size (``rescale``) (kMaX-DeepLab's order)."""
        num_queries, num_frames = mask_logits.shape[:2]
        logits = F.interpolate(mask_logits.flatten(0, 1)[None], size=self.input_size,
                               mode='bilinear', align_corners=False)
        img_h, img_w = meta['img_shape'][:2]
        logits = logits[..., :img_h, :img_w]
        if rescale:
            logits = F.interpolate(logits, size=tuple(meta['ori_shape'][:2]), mode='bilinear',
                                   align_corners=False)
        return logits[0].unflatten(0, (num_queries, num_frames))

    def segment_clips(self, batch_inputs: Tensor, batch_data_samples: Clips,
                      rescale: bool = True) -> List[ClipPrediction]:
        """One :class:`ClipPrediction` per clip: per-frame semantic and segment maps from
        mask-wise merging over the whole tube, and per segment its label, score, thing flag and
        query (cluster centre) as the appearance embedding."""
        outputs, _ = self.forward_clips(batch_inputs)
        predictions = []
        for i, clip in enumerate(self._clips_of(batch_data_samples)):
            mask_logits = self._mask_logits_at(outputs['mask_logits'][i], clip[0].metainfo,
                                               rescale)
            result = self.post_processor(outputs['class_logits'][i], mask_logits)
            segments = result['segments']
            if 'query_inds' in segments:
                segments.embeds = outputs['queries'][i][segments.query_inds]
            predictions.append(
                ClipPrediction(sem_seg=result['sem_seg'], segment_map=result['segment_map'],
                               segments=segments))
        return predictions

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Image kMaX-DeepLab inference: each image's ``pred_panoptic_seg`` (``label +
        segment * INSTANCE_OFFSET``, things numbered 1.., stuff 0, void = ``num_classes``)."""
        if batch_inputs.dim() != 4:
            raise ValueError('ClipKMaX.predict segments images ([B, 3, H, W]); clips go through '
                             'a video model (VideoKMaX) or segment_clips')
        for sample, prediction in zip(batch_data_samples,
                                      self.segment_clips(batch_inputs, batch_data_samples,
                                                         rescale)):
            sem = prediction.sem_seg[0]
            is_thing = prediction.segments.is_thing.bool().to(sem.device)
            numbers = torch.zeros(len(is_thing) + 1, dtype=torch.long, device=sem.device)
            numbers[1:][is_thing] = torch.arange(1, int(is_thing.sum()) + 1, device=sem.device)
            instance = numbers[prediction.segment_map[0].long()]
            sample.pred_panoptic_seg = PixelData(sem_seg=(sem + instance * INSTANCE_OFFSET)[None])
        return batch_data_samples

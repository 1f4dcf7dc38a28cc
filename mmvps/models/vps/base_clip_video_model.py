"""The one clip-level inference loop of mmvps' video models: a clip segmenter, then association
across clips, then one prediction per frame (online models are clips of one frame)."""
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.mot import BaseMOTModel
from mmdet.structures import DetDataSample, TrackDataSample, TrackSampleList
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

from mmvps.registry import MODELS, TASK_UTILS
from mmvps.structures import INSTANCE_OFFSET
from ..trackers.video_stitching import segment_map_to_normalized_boxes


@dataclass
class ClipPrediction:
    """What a clip segmenter predicts for the ``T`` frames of one clip, at the original size.

    Attributes:
        sem_seg (Tensor): ``[T, H, W]`` long class per pixel (void = ``num_classes``).
        segment_map (Tensor): ``[T, H, W]`` long segment per pixel (0 = none, k >= 1 = row
            ``k - 1`` of ``segments``). A segment is a tube: the same index in every frame.
        segments (InstanceData): ``labels [S]``, ``scores [S]``, ``is_thing [S]`` bool and, for
            association by appearance, ``embeds [S, D]`` (e.g. the query embedding of the
            tube); a model may add fields its own associater reads.
    """
    sem_seg: Tensor
    segment_map: Tensor
    segments: InstanceData

    def __post_init__(self) -> None:
        if self.sem_seg.dim() != 3 or self.segment_map.shape != self.sem_seg.shape:
            raise ValueError(f'ClipPrediction: sem_seg and segment_map must be [T, H, W] maps of '
                             f'one shape, got {tuple(self.sem_seg.shape)} and '
                             f'{tuple(self.segment_map.shape)}')
        missing = [key for key in ('labels', 'scores', 'is_thing') if key not in self.segments]
        if missing:
            raise ValueError(f'ClipPrediction: segments lack {missing}')
        num = len(self.segments.labels)
        if self.segment_map.numel() and (self.segment_map.min() < 0
                                         or self.segment_map.max() > num):
            raise ValueError(f'ClipPrediction: segment_map values must lie in [0, {num}] for '
                             f'{num} segments, got [{int(self.segment_map.min())}, '
                             f'{int(self.segment_map.max())}]')

    @property
    def num_frames(self) -> int:
        return self.sem_seg.shape[0]


class BaseClipVideoModel(BaseMOTModel, metaclass=ABCMeta):
    """Base of the video models that segment clips and associate them (design: "one loop, many
    segmenters and associaters").

    Test data come one clip per :meth:`predict` call, videos one after another, clips in order
    (``VideoClipSample(test_mode=True, clip_length, clip_overlap)`` with
    ``VideoBalancedTestSampler``; a clip of one frame is the online case). Per clip:

    1. a new video (``frame_id`` 0 or another ``video_name``) resets the association state;
    2. the subclass's :meth:`segment_clip` segments the clip (tubes over its ``T`` frames);
    3. :meth:`associate` gives each thing tube a global track id: Video Stitching on the last
       frame the clip shares with the previous clip (the previous clip's output of that frame
       against this clip's prediction of it), then the memory (``tracker``, e.g.
       :class:`HiLAMemoryBuffer`) for every thing tube present in the clip's new frames and not
       stitched, located by its box at the newest frame where it is present;
    4. every frame of the sample gets ``pred_panoptic_seg`` (``PixelData(sem_seg=[1, H, W])``,
       ``label + track_id * INSTANCE_OFFSET``, stuff track 0, void = C) and
       ``pred_track_instances`` (``labels``, ``scores``, ``instances_id`` of the thing segments
       in that frame): the new (key) frames from this clip, the overlapping frames the earlier
       clip's output again (the metrics count each frame once).

    Between clips only the previous clip's outputs of its frames after the first (those a next
    clip can overlap, at most ``T - 1``) and the tracker's bounded memory are kept. A thing tube
    present only on the overlapping frames is not in any output, so it gets no id and does not
    enter the memory.

    Subclasses implement :meth:`segment_clip` (and ``loss``); a model with another associater
    overrides :meth:`associate`.

    Args:
        tracker (dict, optional): the memory (``MODELS``), with ``reset()`` and
            ``update(frame_id, labels, embeds, boxes, assigned) -> ids``; needed when thing
            segments are predicted.
        stitching (dict, optional): the overlap stitcher (``TASK_UTILS``). Defaults to
            ``dict(type='VideoStitching')``.
        use_stitching (bool): stitch overlapping clips (off: the memory alone associates, e.g.
            Video-kMaX's "memory only" ablation at T = 2). Defaults to True.
        data_preprocessor (dict, optional): mmdet ``TrackDataPreprocessor`` config.
        init_cfg (dict, optional): initialization config.
    """

    def __init__(self,
                 tracker: Optional[dict] = None,
                 stitching: Optional[dict] = dict(type='VideoStitching'),
                 use_stitching: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if use_stitching and stitching is None:
            raise ValueError(f'{type(self).__name__}: use_stitching=True needs a stitching config')
        self.tracker = MODELS.build(tracker) if tracker is not None else None
        self.stitching = TASK_UTILS.build(stitching) if use_stitching else None
        self.use_stitching = use_stitching
        self.reset_video()

    def images_as_clips(self, inputs: Tensor, data_samples: list,
                        clip_metainfo: Optional[dict] = None
                        ) -> Tuple[Tensor, TrackSampleList]:
        """``[B, 3, H, W]`` images with ``DetDataSample``s (image pretraining, e.g. COCO
        panoptic) -> clips of one frame, each a ``TrackDataSample`` with ``clip_metainfo``;
        ``[N, T, 3, H, W]`` clips pass through."""
        if inputs.dim() != 4:
            return inputs, data_samples
        clips = []
        for sample in data_samples:
            if not isinstance(sample, DetDataSample) or isinstance(sample, TrackDataSample):
                raise ValueError(f'{type(self).__name__}: [B, 3, H, W] inputs are images and '
                                 f'need DetDataSamples, got {type(sample).__name__}; clips are '
                                 '[N, T, 3, H, W]')
            clip = TrackDataSample(metainfo=dict(clip_metainfo or {}))
            clip.video_data_samples = [sample]
            clips.append(clip)
        return inputs[:, None], clips

    def reset_video(self, video: Optional[str] = None) -> None:
        """Forget the previous clip's outputs and the tracker's memory (a new video)."""
        if self.tracker is not None:
            self.tracker.reset()
        self._video = video
        self._previous_outputs: Dict[int, Tuple[Tensor, InstanceData]] = {}

    @abstractmethod
    def segment_clip(self, inputs: Tensor, track_sample: TrackDataSample) -> ClipPrediction:
        """Segment the ``[1, T, 3, H, W]`` clip of ``track_sample`` (``T`` frames) at the
        original image size."""

    def predict(self, inputs: Tensor, data_samples: TrackSampleList,
                **kwargs) -> TrackSampleList:
        """Segment and associate one clip and write every frame's prediction (see the class
        docstring).

        Args:
            inputs (Tensor): ``[1, T, 3, H, W]`` frames of one clip.
            data_samples (list[TrackDataSample]): one sample with ``T`` frames (``frame_id``,
                ``video_name``, ``ori_shape``) and ``key_frames_inds`` (the frames no earlier
                clip predicted: the clip's last frames; all frames when absent).
        """
        if inputs.dim() != 5 or inputs.size(0) != 1 or len(data_samples) != 1:
            raise ValueError(f'{type(self).__name__}.predict takes one clip per call ([1, T, 3, '
                             f'H, W] inputs and one TrackDataSample), got {tuple(inputs.shape)} '
                             f'and {len(data_samples)} samples')
        track_sample = data_samples[0]
        frames = list(track_sample.video_data_samples)
        num_frames = len(frames)
        if num_frames == 0:
            raise ValueError(f'{type(self).__name__}.predict got a sample without frames')
        where = frames[0].metainfo.get('img_path', 'clip')
        if num_frames != inputs.size(1):
            raise ValueError(f'{where}: {inputs.size(1)} input frames for {num_frames} data '
                             'samples')
        frame_ids = [int(frame.metainfo['frame_id']) for frame in frames]
        if frame_ids != list(range(frame_ids[0], frame_ids[0] + num_frames)):
            raise ValueError(f'{where}: a test clip holds consecutive frames, got frame ids '
                             f'{frame_ids}')
        key_inds = [int(i) for i in track_sample.metainfo.get('key_frames_inds',
                                                               range(num_frames))]
        num_overlap = num_frames - len(key_inds)
        if key_inds != list(range(num_overlap, num_frames)):
            raise ValueError(f'{where}: the key frames of a test clip must be its last frames, '
                             f'got key_frames_inds={key_inds} for {num_frames} frames')
        video = frames[0].metainfo.get('video_name')
        if frame_ids[0] == 0 or video != self._video:
            self.reset_video(video)
        missing = [i for i in frame_ids[:num_overlap] if i not in self._previous_outputs]
        if missing:
            raise ValueError(f'{where}: frames {missing} of video {video} overlap a previous '
                             'clip that was not predicted; clips must arrive in order with the '
                             "sampler's and VideoClipSample's clip_length / clip_overlap")

        clip = self.segment_clip(inputs, track_sample)
        if clip.num_frames != num_frames:
            raise ValueError(f'{where}: segment_clip returned {clip.num_frames} frames for a '
                             f'clip of {num_frames}')
        ori_shape = frames[0].metainfo.get('ori_shape')
        if ori_shape is not None and tuple(clip.sem_seg.shape[-2:]) != tuple(ori_shape[:2]):
            raise ValueError(f'{where}: segment_clip returned {tuple(clip.sem_seg.shape[-2:])} '
                             f'maps for frames of original size {tuple(ori_shape[:2])}')
        track_ids = self.associate(clip, frame_ids, num_overlap)

        outputs = {}
        for t, frame in enumerate(frames):
            if t < num_overlap:
                pan, instances = self._previous_outputs[frame_ids[t]]
            else:
                pan, instances = self.frame_output(clip, t, track_ids)
            frame.pred_panoptic_seg = PixelData(sem_seg=pan[None])
            frame.pred_track_instances = instances
            if t > 0:
                outputs[frame_ids[t]] = (pan, instances)
        self._previous_outputs = outputs
        return [track_sample]

    def associate(self, clip: ClipPrediction, frame_ids: List[int], num_overlap: int) -> Tensor:
        """``[S]`` global track ids of the clip's segments (0 for stuff and for thing tubes
        absent from the new frames): stitching on the last overlapping frame, then the memory
        at the newest frame ``frame_ids[-1]``."""
        segments = clip.segments
        num = len(segments.labels)
        device = clip.segment_map.device
        track_ids = torch.zeros(num, dtype=torch.long, device=device)
        is_thing = segments.is_thing.bool().to(device)
        new_maps = clip.segment_map[num_overlap:]
        in_new_frames = torch.bincount(new_maps.reshape(-1).long(), minlength=num + 1)[1:] > 0
        things = is_thing & in_new_frames
        if self.tracker is None:
            if things.any():
                raise ValueError(f'{type(self).__name__}: thing segments need a tracker to get '
                                 'track ids; give the model a tracker config')
            return track_ids
        if 'embeds' not in segments:
            raise ValueError(f'{type(self).__name__}: the memory needs segments.embeds [S, D] '
                             'from segment_clip')

        assigned = {}
        if self.use_stitching and num_overlap > 0:
            t = num_overlap - 1
            previous = self._previous_outputs[frame_ids[t]][0]
            stitched = self.stitching(previous % INSTANCE_OFFSET, previous // INSTANCE_OFFSET,
                                      clip.sem_seg[t], clip.segment_map[t], is_thing)
            assigned = {k - 1: track_id for k, track_id in stitched.items() if things[k - 1]}

        thing_inds = torch.nonzero(things).squeeze(1)
        boxes = torch.zeros(num, 4, device=device)
        found = torch.zeros(num, dtype=torch.bool, device=device)
        for segment_map in new_maps.flip(0):  # newest frame first
            frame_boxes, present = segment_map_to_normalized_boxes(segment_map, num)
            take = present & ~found
            boxes[take], found = frame_boxes[take], found | present
        local = {int(i): n for n, i in enumerate(thing_inds.tolist())}
        track_ids[thing_inds] = self.tracker.update(
            frame_id=frame_ids[-1],
            labels=segments.labels[thing_inds],
            embeds=segments.embeds[thing_inds],
            boxes=boxes[thing_inds],
            assigned={local[k]: track_id for k, track_id in assigned.items()}).to(device)
        return track_ids

    def frame_output(self, clip: ClipPrediction, t: int,
                     track_ids: Tensor) -> Tuple[Tensor, InstanceData]:
        """Frame ``t``'s ``[H, W]`` panoptic map (``label + track_id * INSTANCE_OFFSET``) and
        its ``pred_track_instances`` (thing segments present in the frame)."""
        segments = clip.segments
        segment_map = clip.segment_map[t].long()
        lookup = torch.cat([track_ids.new_zeros(1), track_ids])
        pan = clip.sem_seg[t].long() + lookup[segment_map] * INSTANCE_OFFSET
        present = torch.bincount(segment_map.reshape(-1), minlength=len(track_ids) + 1)[1:] > 0
        keep = present & segments.is_thing.bool().to(present.device) & (track_ids > 0)
        instances = InstanceData(labels=segments.labels[keep], scores=segments.scores[keep],
                                 instances_id=track_ids[keep])
        return pan, instances

"""Clip sampling for clip-level (near-online) models: Video-kMaX's clip-kMaX, Clip-PanoFCN;
target + reference frames at fixed offsets for TCB.

Key + reference frame sampling for online models (Video K-Net: one reference frame in [-2, 2])
is mmdet's ``UniformRefFrameSample(num_ref_imgs=1, frame_range=2)``.
"""
import random
from typing import Dict, List, Sequence

from mmdet.datasets.transforms import BaseFrameSample

from mmvps.registry import TRANSFORMS


def video_clip_starts(video_length: int, clip_length: int, clip_overlap: int = 0) -> List[int]:
    """First frames of the test clips of a video: clips of ``clip_length`` frames, each
    overlapping the previous one by ``clip_overlap`` frames, the last one moved back to end at
    the last frame, so every frame lies in a clip. A video shorter than a clip is one clip.

    Example: 10 frames, clips of 3 overlapping by 1 -> starts 0, 2, 4, 6, 7.
    """
    if clip_length < 1 or not 0 <= clip_overlap < clip_length:
        raise ValueError(f'need clip_length >= 1 and 0 <= clip_overlap < clip_length, got '
                         f'clip_length={clip_length}, clip_overlap={clip_overlap}')
    if video_length < 1:
        raise ValueError(f'a video needs at least one frame, got video_length={video_length}')
    if video_length <= clip_length:
        return [0]
    starts = list(range(0, video_length - clip_length + 1, clip_length - clip_overlap))
    if starts[-1] + clip_length < video_length:
        starts.append(video_length - clip_length)
    return starts


@TRANSFORMS.register_module()
class VideoClipSample(BaseFrameSample):
    """Sample a clip of ``clip_length`` frames, ``frame_stride`` frames apart.

    Training: the clip starts at the key frame the sampler chose (``key_frame_id``, e.g. from
    mmdet's ``TrackImgSampler``) or at a random frame, moved back so that it fits in the video
    (a video shorter than the clip repeats its last frame); every frame is a key frame.

    Testing (``test_mode=True``, with ``VideoBalancedTestSampler`` of the same ``clip_length``
    and ``clip_overlap``): ``key_frame_id`` is a start from :func:`video_clip_starts`; the clip
    holds consecutive frames and only the frames that no earlier clip covered are key frames
    (``key_frame_flags``), so each frame is predicted once while the overlap stays available
    for stitching clips.

    Args:
        clip_length (int): frames per clip (T). Defaults to 2.
        frame_stride (int): training gap between clip frames. Defaults to 1.
        clip_overlap (int): test frames shared by consecutive clips. Defaults to 0.
        test_mode (bool): deterministic test clips. Defaults to False.
        collect_video_keys (list[str]): video-level keys copied into every frame; see mmdet's
            ``BaseFrameSample`` (``video_length`` becomes the clip length and
            ``ori_video_length`` the video length).
    """

    def __init__(self,
                 clip_length: int = 2,
                 frame_stride: int = 1,
                 clip_overlap: int = 0,
                 test_mode: bool = False,
                 collect_video_keys: Sequence[str] = ('video_id', 'video_length')):
        if clip_length < 1 or frame_stride < 1:
            raise ValueError(f'clip_length and frame_stride must be >= 1, got {clip_length} '
                             f'and {frame_stride}')
        if not 0 <= clip_overlap < clip_length:
            raise ValueError(f'clip_overlap must lie in [0, clip_length), got {clip_overlap}')
        if test_mode and frame_stride != 1:
            raise ValueError('test clips hold consecutive frames: frame_stride must be 1')
        super().__init__(collect_video_keys=list(collect_video_keys))
        self.clip_length = clip_length
        self.frame_stride = frame_stride
        self.clip_overlap = clip_overlap
        self.test_mode = test_mode

    def _train_clip(self, video_length: int, start: int):
        span = (self.clip_length - 1) * self.frame_stride
        start = max(0, min(start, video_length - 1 - span))
        frame_ids = [min(start + i * self.frame_stride, video_length - 1)
                     for i in range(self.clip_length)]
        return frame_ids, [True] * self.clip_length

    def _test_clip(self, video_length: int, start: int, video_name):
        starts = video_clip_starts(video_length, self.clip_length, self.clip_overlap)
        if start not in starts:
            raise ValueError(
                f'video {video_name}: frame {start} starts no test clip of length '
                f'{self.clip_length} with overlap {self.clip_overlap} (starts: {starts}); the '
                'sampler and VideoClipSample need the same clip_length and clip_overlap')
        position = starts.index(start)
        covered = starts[position - 1] + self.clip_length if position else 0
        frame_ids = list(range(start, min(start + self.clip_length, video_length)))
        return frame_ids, [frame_id >= covered for frame_id in frame_ids]

    def transform(self, video_infos: dict) -> Dict[str, List]:
        """Turn one video record into a dict of per-frame lists for the chosen clip."""
        if 'images' not in video_infos:
            raise KeyError('VideoClipSample needs a whole video record (with "images"); in test '
                           'mode the dataset must pass the video and key_frame_id to the pipeline')
        video_length = len(video_infos['images'])
        if self.test_mode:
            if 'key_frame_id' not in video_infos:
                raise KeyError(f'video {video_infos.get("video_name")}: test clips need the '
                               'clip start as key_frame_id (from VideoBalancedTestSampler)')
            frame_ids, flags = self._test_clip(video_length, video_infos['key_frame_id'],
                                               video_infos.get('video_name'))
        else:
            start = video_infos.get('key_frame_id')
            if start is None:
                start = random.randrange(video_length)
            frame_ids, flags = self._train_clip(video_length, start)
        results = self.prepare_data(video_infos, frame_ids)
        results['key_frame_flags'] = flags
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_length={self.clip_length}, '
                f'frame_stride={self.frame_stride}, clip_overlap={self.clip_overlap}, '
                f'test_mode={self.test_mode}, collect_video_keys={self.collect_video_keys})')


@TRANSFORMS.register_module()
class TemporalOffsetFrameSample(BaseFrameSample):
    """A TCB training clip: a target frame and references at fixed offsets (VSPW's released
    sampler, spec tcb.md section 3).

    With probability ``reverse_prob`` the video's frame list is reversed (references then lie
    in the past, else in the future). The target is position ``p`` of that list, uniform over
    the positions that leave room for the largest offset (the sampler's ``key_frame_id``, when
    given, is used instead, moved back to fit); the clip is positions ``p, p + d1, ..., p + dN``,
    target first. A video too short for the offsets repeats its last frame. Only the target
    is a key frame (``key_frame_flags``); every frame keeps its annotations (the aux loss
    supervises all of them).

    Args:
        offsets (Sequence[int]): reference offsets. Defaults to (3, 6, 9); () samples single
            frames (the image baselines).
        reverse_prob (float): probability of reversing the frame list. Defaults to 0.5.
        collect_video_keys (list[str]): see mmdet's ``BaseFrameSample``.
    """

    def __init__(self,
                 offsets: Sequence[int] = (3, 6, 9),
                 reverse_prob: float = 0.5,
                 collect_video_keys: Sequence[str] = ('video_id', 'video_length')):
        offsets = tuple(int(d) for d in offsets)
        if any(d < 1 for d in offsets):
            raise ValueError(f'TemporalOffsetFrameSample: offsets must be >= 1, got {offsets}')
        if not 0 <= reverse_prob <= 1:
            raise ValueError(f'TemporalOffsetFrameSample: reverse_prob must lie in [0, 1], got '
                             f'{reverse_prob}')
        super().__init__(collect_video_keys=list(collect_video_keys))
        self.offsets = offsets
        self.reverse_prob = reverse_prob

    def frame_ids(self, video_length: int, reverse: bool, key_frame_id=None) -> List[int]:
        """Frame indices of the clip (target first) in the video's original order."""
        if video_length < 1:
            raise ValueError(f'a video needs at least one frame, got video_length={video_length}')
        last = max(0, video_length - 1 - max(self.offsets, default=0))
        if key_frame_id is None:
            position = random.randint(0, last)
        else:
            position = video_length - 1 - key_frame_id if reverse else key_frame_id
            position = max(0, min(position, last))
        positions = [min(position + d, video_length - 1) for d in (0, ) + self.offsets]
        return [video_length - 1 - p if reverse else p for p in positions]

    def transform(self, video_infos: dict) -> Dict[str, List]:
        if 'images' not in video_infos:
            raise KeyError('TemporalOffsetFrameSample needs a whole video record (with '
                           '"images")')
        reverse = random.random() < self.reverse_prob
        frame_ids = self.frame_ids(len(video_infos['images']), reverse,
                                   video_infos.get('key_frame_id'))
        results = self.prepare_data(video_infos, frame_ids)
        results['key_frame_flags'] = [True] + [False] * len(self.offsets)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(offsets={self.offsets}, '
                f'reverse_prob={self.reverse_prob}, '
                f'collect_video_keys={self.collect_video_keys})')

"""Test-time sampling of whole videos: every frame once, in order, each video on one rank."""
from typing import Iterator, List, Optional, Sequence, Tuple

from mmengine.dist import get_dist_info
from torch.utils.data import Sampler

from mmvps.registry import DATA_SAMPLERS
from ..transforms.frame_sampling import video_clip_starts


def balance_videos(video_lengths: Sequence[int], num_ranks: int) -> List[List[int]]:
    """Split videos between ranks balanced by frame count: greedy longest-first, each video
    (longest first, lower index on ties) to the rank with the fewest frames so far (lower
    rank on ties). Each rank's videos are returned in index order; with fewer videos than
    ranks some ranks get none.

    Example: lengths [5, 9, 3, 7, 4] on 2 ranks -> [[1, 4], [0, 2, 3]] (13 and 15 frames).
    """
    if num_ranks < 1:
        raise ValueError(f'num_ranks must be >= 1, got {num_ranks}')
    loads = [0] * num_ranks
    assignment: List[List[int]] = [[] for _ in range(num_ranks)]
    for video in sorted(range(len(video_lengths)), key=lambda i: (-video_lengths[i], i)):
        rank = min(range(num_ranks), key=lambda r: (loads[r], r))
        loads[rank] += video_lengths[video]
        assignment[rank].append(video)
    return [sorted(videos) for videos in assignment]


@DATA_SAMPLERS.register_module()
class VideoBalancedTestSampler(Sampler):
    """Give each rank whole videos, balanced by frame count (:func:`balance_videos`), and
    stream them in order as ``(video_index, start_frame)`` samples.

    With ``clip_length=1`` (online models) a sample is one frame, which mmdet's
    ``BaseVideoDataset.prepare_data`` loads in test mode; with longer clips (near-online
    models) the samples are the starts of :func:`video_clip_starts` and the test pipeline
    begins with ``VideoClipSample(test_mode=True)`` of the same ``clip_length`` and
    ``clip_overlap``, which marks the frames each clip predicts. Unlike mmdet's
    ``TrackImgSampler`` (equal video counts per rank, an error when videos are fewer than ranks)
    a rank may get no video: it then runs no iteration and still joins the metric's result
    collection, so the test loop does not hang.

    Args:
        dataset: a video dataset with ``get_len_per_video`` (mmdet's ``BaseVideoDataset``).
        clip_length (int): frames per sample. Defaults to 1.
        clip_overlap (int): frames shared by consecutive clips. Defaults to 0.
        seed (int, optional): unused (the order is deterministic); accepted because the
            Runner passes it to every sampler.
    """

    def __init__(self,
                 dataset,
                 clip_length: int = 1,
                 clip_overlap: int = 0,
                 seed: Optional[int] = None) -> None:
        if not hasattr(dataset, 'get_len_per_video'):
            raise TypeError(f'VideoBalancedTestSampler needs a video dataset with '
                            f'get_len_per_video (mmdet BaseVideoDataset), got '
                            f'{type(dataset).__name__}')
        self.dataset = dataset
        self.clip_length = clip_length
        self.clip_overlap = clip_overlap
        self.rank, self.world_size = get_dist_info()
        lengths = [dataset.get_len_per_video(i) for i in range(len(dataset))]
        empty = [i for i, length in enumerate(lengths) if length == 0]
        if empty:
            raise ValueError(f'{type(dataset).__name__}: videos {empty[:10]} have no frames')
        self.rank_videos = balance_videos(lengths, self.world_size)
        self.indices: List[Tuple[int, int]] = [
            (video, start) for video in self.rank_videos[self.rank]
            for start in video_clip_starts(lengths[video], clip_length, clip_overlap)
        ]

    def __iter__(self) -> Iterator[Tuple[int, int]]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)

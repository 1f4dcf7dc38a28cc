"""Test-time video samplers (mmvps.datasets.samplers) and clip coverage."""
import json
import os
import time

import numpy as np
import pytest
import torch
from mmdet.datasets import BaseVideoDataset
from mmengine.dataset import pseudo_collate
from mmengine.dist import get_rank
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch.utils.data import DataLoader

from mmvps.datasets.samplers import VideoBalancedTestSampler, balance_videos
from mmvps.datasets.samplers import video_test_sampler
from mmvps.datasets.transforms import (PackVideoPanopticInputs, VideoClipSample,
                                       video_clip_starts)


class ToyVideoDataset(BaseVideoDataset):
    """mmvps video records (conventions §3) without files: ``lengths[v]`` frames in video v."""

    METAINFO = dict(classes=('thing', ))

    def __init__(self, lengths, **kwargs):
        self.lengths = lengths
        super().__init__(ann_file='', test_mode=True, **kwargs)

    def load_data_list(self):
        return [
            dict(video_id=v, video_name=f'{v}_video', video_length=n, images=[
                dict(img_path=f'imgs/{v}_video/{3 * i + 6:08d}.jpg', frame_id=i,
                     frame_name=f'{3 * i + 6:08d}', video_id=v, video_name=f'{v}_video',
                     is_annotated=True) for i in range(n)
            ]) for v, n in enumerate(self.lengths)
        ]


def blank_images(results):
    """Stand-in for image loading: one small image per frame of the sample."""
    results['img'] = [np.zeros((4, 6, 3), np.uint8) for _ in results['img_path']]
    return results


def rank_samples(monkeypatch, dataset, world_size, **kwargs):
    samples = []
    for rank in range(world_size):
        monkeypatch.setattr(video_test_sampler, 'get_dist_info', lambda r=rank: (r, world_size))
        samples.append(list(VideoBalancedTestSampler(dataset, **kwargs)))
    return samples


def test_balance_videos_hand_computed():
    # longest first: 9 -> r0, 7 -> r1, 5 -> r1 (7 < 9), 4 -> r0 (9 < 12), 3 -> r1 (12 < 13)
    assert balance_videos([5, 9, 3, 7, 4], 2) == [[1, 4], [0, 2, 3]]
    # 9 -> r0, 7 -> r1, 5 -> r2, 4 -> r2 (5 is least), 3 -> r1 (7 < 9 == 9)
    assert balance_videos([5, 9, 3, 7, 4], 3) == [[1], [2, 3], [0, 4]]
    assert balance_videos([4, 4, 4, 4], 2) == [[0, 2], [1, 3]]  # ties: lower index, lower rank
    assert balance_videos([6, 2], 4) == [[0], [1], [], []]
    assert balance_videos([3], 1) == [[0]]
    with pytest.raises(ValueError, match='num_ranks'):
        balance_videos([3], 0)


@pytest.mark.parametrize('length,clip,overlap', [(10, 3, 1), (7, 2, 1), (9, 4, 0), (2, 3, 2),
                                                 (1, 1, 0), (12, 1, 0), (11, 5, 3)])
def test_video_clip_starts_cover_every_frame(length, clip, overlap):
    starts = video_clip_starts(length, clip, overlap)
    clips = [list(range(s, min(s + clip, length))) for s in starts]
    assert starts == sorted(set(starts)) and starts[0] == 0 and clips[-1][-1] == length - 1
    assert all(len(c) == min(clip, length) for c in clips)
    for previous, current in zip(clips, clips[1:]):
        assert len(set(previous) & set(current)) >= overlap  # the last clip may overlap more
        assert current[0] <= previous[-1] + 1  # no gap
    assert sorted(set(sum(clips, []))) == list(range(length))


def test_video_clip_starts_examples_and_errors():
    assert video_clip_starts(10, 3, 1) == [0, 2, 4, 6, 7]
    assert video_clip_starts(10, 2, 0) == [0, 2, 4, 6, 8]
    assert video_clip_starts(5, 2, 1) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match='clip_overlap'):
        video_clip_starts(10, 3, 3)
    with pytest.raises(ValueError, match='at least one frame'):
        video_clip_starts(0, 3, 1)


@pytest.mark.parametrize('world_size', [1, 2, 3])
def test_frames_streamed_in_order_per_rank(monkeypatch, world_size):
    """Online test: each frame exactly once, each video on one rank, frames in order, ranks
    balanced by frame count; the samples load and pack through mmdet's test-mode path."""
    lengths = [5, 9, 3, 7, 4]
    dataset = ToyVideoDataset(lengths, pipeline=[blank_images, PackVideoPanopticInputs()])
    per_rank = rank_samples(monkeypatch, dataset, world_size)
    assignment = balance_videos(lengths, world_size)
    seen = []
    for rank, samples in enumerate(per_rank):
        assert samples == [(v, f) for v in assignment[rank] for f in range(lengths[v])]
        loader = DataLoader(dataset, batch_size=1, sampler=samples, collate_fn=pseudo_collate)
        for batch in loader:
            frame = batch['data_samples'][0].video_data_samples[0]
            seen.append((frame.video_name, frame.frame_id))
            assert frame.ori_video_length == lengths[frame.video_id]
    assert sorted(seen) == sorted((f'{v}_video', f) for v, n in enumerate(lengths)
                                  for f in range(n))
    loads = [sum(lengths[v] for v in videos) for videos in assignment]
    assert max(loads) - min(loads) <= max(lengths)


def test_clips_cover_every_frame_once(monkeypatch):
    """Near-online test: the sampler's clip starts, sampled by VideoClipSample, make every frame
    a key frame exactly once, in order, while neighbouring clips share frames."""
    lengths = [10, 4, 7, 1]
    dataset = ToyVideoDataset(lengths)
    clip_sample = VideoClipSample(clip_length=3, clip_overlap=1, test_mode=True)
    key_frames = []
    for samples in rank_samples(monkeypatch, dataset, 2, clip_length=3, clip_overlap=1):
        for video, start in samples:
            assert start in video_clip_starts(lengths[video], 3, 1)
            clip = clip_sample(dict(dataset.get_data_info(video), key_frame_id=start))
            key_frames += [(video, f) for f, key in zip(clip['frame_id'], clip['key_frame_flags'])
                           if key]
    by_video = {v: [f for video, f in key_frames if video == v] for v in range(len(lengths))}
    assert by_video == {v: list(range(n)) for v, n in enumerate(lengths)}


def test_fewer_videos_than_ranks(monkeypatch):
    dataset = ToyVideoDataset([3, 2])
    per_rank = rank_samples(monkeypatch, dataset, 4)
    assert per_rank == [[(0, 0), (0, 1), (0, 2)], [(1, 0), (1, 1)], [], []]
    monkeypatch.setattr(video_test_sampler, 'get_dist_info', lambda: (3, 4))
    sampler = VideoBalancedTestSampler(dataset)
    assert len(sampler) == 0
    assert list(DataLoader(dataset, batch_size=1, sampler=sampler, collate_fn=pseudo_collate)) == []


def test_sampler_rejects_image_dataset():
    with pytest.raises(TypeError, match='get_len_per_video'):
        VideoBalancedTestSampler(list(range(3)))


# ---------------------------------------------------------------- a rank without any video
class EchoModel(BaseModel):
    """Returns its input samples as predictions."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return data_samples


class FrameOrderMetric(BaseMetric):
    """One result per finished video (the ``size`` mmengine truncates collected results to is
    the number of videos): its frames in arrival order and the rank that ran it."""

    def __init__(self):
        super().__init__()
        self.frames = {}

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            for frame in sample['video_data_samples']:
                frames = self.frames.setdefault(frame.video_name, [])
                frames.append(frame.frame_id)
                if frame.frame_id == frame.ori_video_length - 1:
                    self.results.append((frame.video_name, self.frames.pop(frame.video_name),
                                         get_rank()))

    def compute_metrics(self, results):
        return dict(videos=json.dumps(sorted(results)))


def _test_loop_worker(rank, world_size, tmp_dir, lengths):
    os.chdir(tmp_dir)  # mmengine's CPU result collection makes a ``.dist_test`` folder here
    torch.distributed.init_process_group(
        'gloo', init_method=f'file://{tmp_dir}/store', rank=rank, world_size=world_size)
    from mmengine.runner import Runner
    runner = Runner(
        model=EchoModel(),
        work_dir=f'{tmp_dir}/rank{rank}',
        test_dataloader=dict(
            dataset=ToyVideoDataset(lengths, pipeline=[blank_images, PackVideoPanopticInputs()]),
            sampler=dict(type='VideoBalancedTestSampler'),
            batch_size=1, num_workers=0, collate_fn=dict(type='pseudo_collate')),
        test_cfg=dict(type='TestLoop'),
        test_evaluator=[FrameOrderMetric()],
        default_scope='mmvps',
        log_level='WARNING')
    metrics = runner.test()
    with open(f'{tmp_dir}/metrics{rank}.json', 'w') as f:
        json.dump(dict(metrics=metrics, samples=len(runner.test_loop.dataloader)), f)
    torch.distributed.destroy_process_group()


def test_test_loop_with_an_empty_rank(tmp_path):
    """mmengine's TestLoop on 2 gloo ranks with 1 video: the second rank runs no iteration,
    still joins the result collection, and both ranks get the complete metrics."""
    lengths, world_size = [4], 2
    context = torch.multiprocessing.start_processes(
        _test_loop_worker, args=(world_size, str(tmp_path), lengths), nprocs=world_size,
        join=False, start_method='spawn')
    deadline = time.monotonic() + 150
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail('the test loop hung with an empty rank')
    results = [json.loads((tmp_path / f'metrics{r}.json').read_text()) for r in range(2)]
    assert [r['samples'] for r in results] == [4, 0]
    for result in results:
        assert json.loads(result['metrics']['videos']) == [['0_video', [0, 1, 2, 3], 0]]

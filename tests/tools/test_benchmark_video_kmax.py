"""tools/benchmarks/benchmark_video_kmax.py on tiny settings: the clips it feeds, the FLOP
count of einsum, and the CPU-time and memory figures."""
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

BENCHMARK = (Path(__file__).resolve().parents[2] / 'tools' / 'benchmarks' /
             'benchmark_video_kmax.py')


@pytest.fixture(scope='module')
def bench():
    name = 'benchmark_video_kmax'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCHMARK)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    torch.set_num_threads(1)
    return sys.modules[name]


def test_near_online_clips_overlap_by_one(bench):
    clips = list(bench.near_online_clips(4, 32, 48, video_name='v'))
    assert [[f.metainfo['frame_id'] for f in sample] for _, sample in clips] == \
        [[0, 1], [1, 2], [2, 3]]
    assert [sample.metainfo['key_frames_inds'] for _, sample in clips] == [[0, 1], [1], [1]]
    for frames, sample in clips:
        assert frames.shape == (2, 3, 32, 48) and frames.dtype == torch.uint8
        meta = sample[0].metainfo
        assert meta['video_name'] == 'v' and meta['ori_shape'] == meta['img_shape'] == (32, 48)
    # the overlapping frame is the same image in both clips
    assert torch.equal(clips[0][0][1], clips[1][0][0])


def test_parse_args_rejects_a_video_shorter_than_a_clip(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(['--short-video', '1'])


class AxialLogits(torch.nn.Module):

    def forward(self, q, k):
        return torch.einsum('nhdl,nhdm->nhlm', q, k).softmax(-1)


def test_einsum_counted_as_multiply_adds(bench):
    n, h, d, l, m = 2, 3, 4, 5, 6
    total, _, unsupported = bench.analyze_flops(
        AxialLogits(), (torch.randn(n, h, d, l), torch.randn(n, h, d, m)))
    assert total == n * h * d * l * m
    assert 'aten::softmax' in unsupported  # element-wise: uncounted, but reported
    assert not any(bench.is_matmul_like(op) for op in unsupported)
    assert bench.is_matmul_like('aten::baddbmm') and bench.is_matmul_like('aten::einsum')
    assert not bench.is_matmul_like('aten::upsample_bilinear2d')


def test_clip_flops_of_the_cpu_model(bench):
    one = bench.clip_flops(bench.CPU_CONFIG, 1, 96, 160)
    two = bench.clip_flops(bench.CPU_CONFIG, 2, 96, 160)
    assert two['uncounted_matmul_like_ops'] == []
    assert 0 < one['gflops_per_clip'] < two['gflops_per_clip']
    # per frame, a clip of 2 costs about one frame (the decoder attends over both frames)
    assert two['gflops_per_frame'] == pytest.approx(one['gflops_per_frame'], rel=0.2)
    assert 0 < one['params_m'] < one['params_with_semantic_head_m']
    assert set(two['gflops_by_part_per_clip']) == {'backbone', 'pixel_decoder',
                                                   'transformer_decoder'}
    with pytest.raises(ValueError, match='input_size'):
        bench.clip_flops(bench.CPU_CONFIG, 1, 64, 64)


def test_cpu_figures(bench):
    figures = bench.cpu_figures(bench.parse_args(['--frames', '3', '--threads', '1']))
    assert figures['input_shape'] == [96, 160] and figures['clips'] == 2
    for key in ('wall_ms_per_frame_median', 'wall_ms_per_frame_mean', 'cpu_ms_per_frame'):
        assert figures[key] > 0
    assert figures['every_frame_predicted_once'] is True
    # the random weights are made to segment: there is something to stitch and track
    assert figures['tracks_started'] > 0


def test_run_near_online_predicts_every_frame_once(bench):
    model, _ = bench.build_model(bench.CPU_CONFIG)
    times, predictions, things = bench.run_near_online(model, 4, 96, 160)
    assert len(times) == 3 and all(t > 0 for t in times)
    assert dict(predictions) == {0: 1, 1: 1, 2: 1, 3: 1}
    assert len(things) == 4


def test_memory_figures(bench):
    # the parent holds 512 MiB more than a child needs: a child must not report it as its peak
    # (getrusage's ru_maxrss would, inherited at the fork)
    ballast = torch.ones(128 * 2**20)
    parent_peak = bench.peak_rss_mb()
    figures = bench.memory_figures(
        bench.parse_args(['--short-video', '2', '--long-video', '3', '--threads', '1']))
    del ballast
    for frames in (2, 3):
        run = figures[f'{frames}_frames']
        assert run['frames'] == frames and 0 < run['max_rss_mb'] < parent_peak - 256
        assert run['every_frame_predicted_once'] is True
        assert run['frames_kept_between_clips'] == 1  # only the overlap frame's output
    assert 'rss_growth_mb' in figures

"""tools/benchmarks/benchmark_video_demo.py on tiny videos: one fresh process per length, the
overlay video as long as the input, figures reported."""
import importlib.util
from pathlib import Path

import pytest

BENCHMARK = (Path(__file__).resolve().parents[2] / 'tools' / 'benchmarks' /
             'benchmark_video_demo.py')


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('benchmark_video_demo', BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_moving_shapes_video_has_the_asked_frames(bench, tmp_path):
    path = str(tmp_path / 'v.mp4')
    bench.write_moving_shapes(path, 7, 64, 36)
    assert bench.count_frames(path) == 7


def test_runs_report_memory_speed_and_frame_counts(bench, tmp_path):
    figures = bench.main(['--lengths', '4', '2', '--size', '64', '36', '--work-dir',
                          str(tmp_path), '--out', str(tmp_path / 'f.json')])
    assert [run['frames'] for run in figures['runs']] == [4, 2]
    for run in figures['runs']:
        assert run['input_frames'] == run['overlay_frames'] == run['id_maps'] == run['frames']
        assert run['peak_rss_mb'] > 50 and run['frames_per_s'] > 0
    assert (tmp_path / 'f.json').is_file()

"""Two CPU processes (gloo) give the same metrics as one, however the videos are split, and the
submission index gathers the predictions of every rank."""
import json

import torch.distributed as dist
import torch.multiprocessing as mp
from metric_cases import load_case
from test_metrics import label_space, video_samples

from mmvps.evaluation import VideoPanopticMetric, VideoSemSegMetric

CASE = '10_varlen'  # 6 videos of 1..18 frames
SPLITS = dict(contiguous=([0, 1, 2, 3], [4, 5]), interleaved=([0, 2, 4], [1, 3, 5]))


def evaluate_videos(samples, meta, metric):
    """Stream the frames of ``samples`` (videos) through ``metric`` and evaluate it."""
    metric.dataset_meta = meta
    for frames in samples:
        for frame in frames:
            metric.process({}, [frame.to_dict()])
    return metric.evaluate(len(samples))


def metrics_of(samples, meta, outfile_prefix):
    return dict(
        panoptic=evaluate_videos(samples, meta, VideoPanopticMetric(windows='vipseg_official')),
        semantic=evaluate_videos(samples, meta, VideoSemSegMetric()),
        submission=evaluate_videos(samples, meta, VideoPanopticMetric(
            format_only=True, outfile_prefix=outfile_prefix, submission_format='vipseg')))


def _worker(rank, world_size, tmp_dir):
    dist.init_process_group('gloo', init_method=f'file://{tmp_dir}/rendezvous', rank=rank,
                            world_size=world_size)
    categories, _, videos = load_case(CASE)
    meta, lut = label_space(categories)
    samples = video_samples(videos, lut)
    results = {}
    for split, parts in SPLITS.items():
        mine = [samples[i] for i in parts[rank]]
        results[split] = metrics_of(mine, meta, f'{tmp_dir}/{split}')
    with open(f'{tmp_dir}/rank{rank}.json', 'w') as f:
        json.dump(results, f)
    dist.destroy_process_group()


def test_two_gloo_processes_equal_one(tmp_path):
    # fork: the ranks start with everything imported (a spawned interpreter re-imports torch)
    mp.start_processes(_worker, args=(2, str(tmp_path)), nprocs=2, join=True, start_method='fork')
    categories, _, videos = load_case(CASE)
    meta, lut = label_space(categories)
    single = metrics_of(video_samples(videos, lut), meta, str(tmp_path / 'single'))
    assert single['panoptic']['vps/PQ'] > 0 and 'vss/mIoU' in single['semantic']
    single_index = json.loads((tmp_path / 'single' / 'pred.json').read_text())
    assert [v['video_id'] for v in single_index['annotations']] == list(videos)
    for rank in range(2):
        ranked = json.loads((tmp_path / f'rank{rank}.json').read_text())
        for split in SPLITS:
            assert ranked[split] == single, (rank, split)  # identical, not merely close
    for split in SPLITS:
        assert json.loads((tmp_path / split / 'pred.json').read_text()) == single_index
        assert sorted(p.name for p in (tmp_path / split / 'pan_pred').iterdir()) == sorted(videos)

"""Benchmark of the evaluators on a VIPSeg-val-like synthetic set.

1. Writes ``--videos`` x ``--frames`` frames of ``--height`` x ``--width`` in the VIPSeg formats
   (``panomasksRGB`` + ``panoptic_gt_VIPSeg_val.json``; a perturbed ``pan_pred`` + ``pred.json``),
   about ``--segments`` segments per frame: stuff bands with moving boundaries and thing tracks
   that move, enter and leave. The prediction shifts boundaries, switches and drops some tracks,
   confuses some classes and adds false positives.
2. Floor: decoding every PNG once with ``--workers`` processes.
3. The offline scorer (``tools/analysis_tools/eval_vps.py vipseg``, VPQ n=1,2,4,6,8 + STQ,
   ``--workers`` processes) as a subprocess: wall and CPU time (also without its fixed start:
   interpreter and imports) and peak RSS / PSS of the scorer with its children (from /proc).
   Floor and scorer alternate ``--repeats`` times; the best of each is reported.
4. Peak traced memory (tracemalloc) of the in-loop ``VideoPanopticMetric`` fed frame by frame
   with ``--small-videos`` small videos, to show that it is flat in the number of videos.

    python tools/benchmarks/benchmark_eval.py [--work-dir DIR] [--videos 12 --frames 24 ...]
"""
import argparse
import json
import os
import resource
import os.path as osp
import subprocess
import sys
import tempfile
import time
import tracemalloc
from multiprocessing import Pool

import numpy as np
from PIL import Image

from mmvps.datasets.classes.vipseg import CATEGORIES
from mmvps.datasets.formats import (dump_json, vipseg_panoptic_json, vipseg_pred_json,
                                    write_coco_panoptic)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCORER = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'eval_vps.py')
THING_IDS = [c['id'] for c in CATEGORIES if c['isthing']]
STUFF_IDS = [c['id'] for c in CATEGORIES if not c['isthing']]


# ------------------------------------------------------------------------------ synthetic set
def synthetic_video(rng, num_frames, height, width, num_segments):
    """GT and prediction ``(cat, inst)`` frames of one video (official VIPSeg ids)."""
    num_stuff = max(2, num_segments // 3)
    num_things = num_segments - num_stuff
    stuff = rng.choice(STUFF_IDS, num_stuff, replace=False)
    bands = np.sort(rng.uniform(0, 1, num_stuff - 1))
    band_speed = rng.uniform(-0.004, 0.004, num_stuff - 1)
    things = dict(
        cat=rng.choice(THING_IDS, num_things),
        center=rng.uniform([0, 0], [height, width], (num_things, 2)),
        velocity=rng.normal(0, [height / 80, width / 60], (num_things, 2)),
        radius=rng.uniform(0.04, 0.12, (num_things, 2)) * [height, width],
        start=rng.integers(0, num_frames // 2, num_things) * (rng.random(num_things) < 0.3),
        depth=rng.permutation(num_things))
    # prediction errors: track switches, dropped tracks, class confusion, false positives
    switch_at = np.where(rng.random(num_things) < 0.2, rng.integers(1, num_frames, num_things),
                         num_frames)
    dropped = rng.random(num_things) < 0.05
    confused = np.where(rng.random(num_things) < 0.1, rng.choice(THING_IDS, num_things),
                        things['cat'])
    rows = np.arange(height, dtype=np.float32)[:, None, None] / height
    wave = np.arange(width, dtype=np.float32)[:, None] / width * 6
    gt_frames, pred_frames = [], []
    for t in range(num_frames):
        edges = bands + band_speed * t + 0.02 * np.sin(wave + t / 5)  # (W, bands - 1)
        band_index = (rows > edges[None]).sum(-1)
        gt_cat = stuff[band_index].astype(np.int64)
        gt_inst = np.zeros_like(gt_cat)
        pred_cat, pred_inst = gt_cat.copy(), gt_inst.copy()
        dy, dx = rng.integers(-3, 4, 2)  # the prediction's boundary shift
        for k in np.argsort(things['depth']):
            if t < things['start'][k]:
                continue
            cy, cx = things['center'][k] + things['velocity'][k] * t
            ry, rx = things['radius'][k]
            y0, y1 = max(int(cy - ry), 0), min(int(cy + ry) + 1, height)
            x0, x1 = max(int(cx - rx), 0), min(int(cx + rx) + 1, width)
            if y0 >= y1 or x0 >= x1:
                continue  # outside the frame
            yy, xx = np.ogrid[y0:y1, x0:x1]
            inside = ((yy - cy) / ry)**2 + ((xx - cx) / rx)**2 < 1
            gt_cat[y0:y1, x0:x1][inside] = things['cat'][k]
            gt_inst[y0:y1, x0:x1][inside] = k + 1
            if dropped[k]:
                continue
            # the shifted mask, clipped to the frame
            ty0, ty1 = max(y0 + dy, 0), min(y1 + dy, height)
            tx0, tx1 = max(x0 + dx, 0), min(x1 + dx, width)
            shifted = inside[ty0 - y0 - dy:ty1 - y0 - dy, tx0 - x0 - dx:tx1 - x0 - dx]
            pred_cat[ty0:ty1, tx0:tx1][shifted] = confused[k]
            pred_inst[ty0:ty1, tx0:tx1][shifted] = k + 1 + (num_things if t >= switch_at[k] else 0)
        if rng.random() < 0.3:  # a false-positive thing
            y, x = rng.integers(0, [height - 40, width - 40])
            pred_cat[y:y + 40, x:x + 40] = rng.choice(THING_IDS)
            pred_inst[y:y + 40, x:x + 40] = 3 * num_things + 1
        gt_cat[:height // 40, :width // 40] = -1  # a void corner
        gt_inst[:height // 40, :width // 40] = 0
        gt_frames.append((gt_cat, gt_inst))
        pred_frames.append((pred_cat, pred_inst))
    return gt_frames, pred_frames


def write_synthetic_vipseg(root, num_videos, num_frames, height, width, num_segments, seed=0):
    """Write GT under ``root/gt`` and the prediction under ``root/pred``; returns the number of
    PNG files written."""
    rng = np.random.default_rng(seed)
    gt_videos, pred_videos = [], []
    for v in range(num_videos):
        name = f'{v}_synthetic{v:03d}'
        gt_frames, pred_frames = synthetic_video(rng, num_frames, height, width, num_segments)
        gt_video, pred_video = dict(video_id=name, frames=[]), dict(video_id=name, frames=[])
        for t, ((gc, gi), (pc, pi)) in enumerate(zip(gt_frames, pred_frames)):
            stem = f'{166 + 3 * t:08d}'
            gt_info = write_coco_panoptic(
                osp.join(root, 'gt', 'panomasksRGB', name, stem + '.png'), gc, gi, THING_IDS)
            pred_info = write_coco_panoptic(
                osp.join(root, 'pred', 'pan_pred', name, stem + '.png'), pc, pi, THING_IDS,
                zero_instance_is_crowd=False)
            gt_video['frames'].append(dict(stem=stem, height=height, width=width,
                                           segments_info=gt_info))
            pred_video['frames'].append(dict(stem=stem, segments_info=pred_info))
        gt_videos.append(gt_video)
        pred_videos.append(pred_video)
    dump_json(osp.join(root, 'gt', 'panoptic_gt_VIPSeg_val.json'),
              vipseg_panoptic_json(gt_videos, CATEGORIES))
    dump_json(osp.join(root, 'pred', 'pred.json'), vipseg_pred_json(pred_videos))
    return 2 * num_videos * num_frames


# ------------------------------------------------------------------------------ measurements
def _decode(path):
    with Image.open(path) as img:
        return np.asarray(img).shape


def children_cpu():
    """User + system CPU seconds of the waited-for child processes (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def decode_floor(root, workers):
    """Seconds to decode every PNG under ``root`` once with ``workers`` processes."""
    paths = sorted(osp.join(d, f) for d, _, files in os.walk(root) for f in files
                   if f.endswith('.png'))
    start = time.perf_counter()
    with Pool(workers) as pool:
        pool.map(_decode, paths, chunksize=4)
    return time.perf_counter() - start, len(paths)


def _tree_memory(pid):
    """``(RSS, PSS)`` in bytes of ``pid`` and all its descendants, from /proc. RSS counts the
    pages a forked worker shares with its parent once per process; PSS splits them."""
    rss = pss = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f'/proc/{p}/smaps_rollup') as f:
                for line in f:
                    if line.startswith('Rss:'):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith('Pss:'):
                        pss += int(line.split()[1]) * 1024
            for task in os.listdir(f'/proc/{p}/task'):
                with open(f'/proc/{p}/task/{task}/children') as f:
                    stack.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return rss, pss


def run_scorer(root, workers, out_json):
    """Run the offline scorer; returns (wall s, peak tree (RSS, PSS) bytes, results, its
    stdout)."""
    cmd = [sys.executable, SCORER, 'vipseg', '--gt-root', osp.join(root, 'gt'),
           '--pred-root', osp.join(root, 'pred'),
           '--windows', '1,2,4,6,8', '--workers', str(workers), '--out', out_json]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = (0, 0)
    while proc.poll() is None:
        peak = tuple(max(a, b) for a, b in zip(peak, _tree_memory(proc.pid)))
        time.sleep(0.25)  # reading smaps_rollup locks the process: poll gently
    wall = time.perf_counter() - start
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    if proc.returncode:
        raise RuntimeError(f'the scorer failed ({proc.returncode}):\n{stdout}\n{stderr}')
    with open(out_json) as f:
        return wall, peak, json.load(f), stdout


def scorer_import_time():
    """Seconds for a fresh interpreter to import the scorer's modules (its fixed start cost)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, '-c', 'import mmvps.evaluation, mmvps.datasets.formats, tqdm'],
                   check=True)
    return time.perf_counter() - start


def metric_peak_memory(num_videos, num_frames=8, size=(48, 64), seed=0):
    """Peak traced memory (bytes) of ``VideoPanopticMetric`` over ``num_videos`` small videos
    fed one frame at a time, evaluate included."""
    import torch

    from mmvps.evaluation import VideoPanopticMetric
    from mmvps.structures.panoptic import encode_panoptic

    things, stuff = ['car', 'person'], ['road', 'sky', 'wall']
    metric = VideoPanopticMetric(windows='vipseg_official')
    metric.dataset_meta = dict(classes=things + stuff, thing_classes=things,
                               stuff_classes=stuff)
    rng = np.random.default_rng(seed)
    tracemalloc.start()
    for v in range(num_videos):
        for t in range(num_frames):
            sem = rng.integers(0, 5, size)
            inst = np.where(sem < 2, rng.integers(1, 4, size), 0)
            gt = encode_panoptic(sem, inst)
            pred = np.where(rng.random(size) < 0.1, encode_panoptic(sem, inst + 1), gt)
            metric.process({}, [dict(
                video_name=f'video{v}', video_id=v, frame_id=t, img_path=f'video{v}/{t}.jpg',
                pred_panoptic_seg=dict(sem_seg=torch.from_numpy(pred)[None]),
                gt_panoptic_seg=dict(sem_seg=torch.from_numpy(gt)[None]))])
    metric.evaluate(num_videos)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', help='where to write the synthetic set (default: a temp dir)')
    parser.add_argument('--videos', type=int, default=12)
    parser.add_argument('--frames', type=int, default=24)
    parser.add_argument('--height', type=int, default=720)
    parser.add_argument('--width', type=int, default=1280)
    parser.add_argument('--segments', type=int, default=20)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--small-videos', type=int, nargs=2, default=(10, 100))
    parser.add_argument('--repeats', type=int, default=3,
                        help='rounds of floor / scorer measurements (the best is reported)')
    parser.add_argument('--reuse', action='store_true',
                        help='score the set already in --work-dir instead of writing it')
    args = parser.parse_args()
    root = args.work_dir or tempfile.mkdtemp(prefix='mmvps_bench_')

    if args.reuse:
        print(f'reusing the synthetic VIPSeg set under {root}')
    else:
        start = time.perf_counter()
        num_pngs = write_synthetic_vipseg(root, args.videos, args.frames, args.height,
                                          args.width, args.segments)
        print(f'synthetic VIPSeg set: {args.videos} videos x {args.frames} frames at '
              f'{args.height}x{args.width}, {num_pngs} PNGs, written in '
              f'{time.perf_counter() - start:.1f} s under {root}')
    # floor, scorer start and scorer alternate; the minimum of each over --repeats rounds is
    # the least disturbed by other load on the machine
    runs = dict(floor=[], floor_cpu=[], start=[], start_cpu=[], scorer=[], scorer_cpu=[])
    for _ in range(args.repeats):
        cpu = children_cpu()
        floor, counted = decode_floor(root, args.workers)
        runs['floor'].append(floor)
        runs['floor_cpu'].append(children_cpu() - cpu)
        cpu = children_cpu()
        runs['start'].append(scorer_import_time())
        runs['start_cpu'].append(children_cpu() - cpu)
        cpu = children_cpu()
        wall, peak, results, stdout = run_scorer(root, args.workers,
                                                 osp.join(root, 'results.json'))
        runs['scorer'].append(wall)
        runs['scorer_cpu'].append(children_cpu() - cpu)
    best = {k: min(v) for k, v in runs.items()}
    print(stdout.rstrip())
    print(f'floor: decode {counted} PNGs once with {args.workers} processes: '
          f'{best["floor"]:.2f} s wall, {best["floor_cpu"]:.2f} s CPU (best of {args.repeats})')
    scoring = best['scorer'] - best['start']
    print(f'scorer (VPQ n=1,2,4,6,8 + STQ, {args.workers} workers): {best["scorer"]:.2f} s wall '
          f'= {best["scorer"] / best["floor"]:.2f}x the floor; its fixed start (interpreter + '
          f'imports) {best["start"]:.2f} s, so {scoring / best["floor"]:.2f}x without it; peak '
          f'memory with children (last run): RSS {peak[0] / 2**20:.0f} MiB, PSS '
          f'{peak[1] / 2**20:.0f} MiB')
    scoring_cpu = best['scorer_cpu'] - best['start_cpu']
    print(f'CPU time: scorer {best["scorer_cpu"]:.2f} s, of which start {best["start_cpu"]:.2f} '
          f's; scoring {scoring_cpu:.2f} s = {scoring_cpu / best["floor_cpu"]:.2f}x the floor')
    small, large = args.small_videos
    peaks = [metric_peak_memory(n) for n in (small, large)]
    print(f'in-loop VideoPanopticMetric peak traced memory: {small} videos '
          f'{peaks[0] / 2**10:.0f} KiB, {large} videos {peaks[1] / 2**10:.0f} KiB '
          f'(ratio {peaks[1] / peaks[0]:.2f})')


if __name__ == '__main__':
    main()

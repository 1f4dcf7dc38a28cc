"""Long videos through ``demo/video_demo.py``: peak memory must not grow with the video length.

A 360p mp4 of moving shapes is generated for each length (default 3000 and 300 frames); the
demo runs on it in a fresh process (overlay video + 16-bit id maps), which reports its peak
RSS (``VmHWM``, see ``benchmark_video_knet.peak_rss_mb``) and its frames/s. The overlay video
is then counted: it must have as many frames as the input.

Example::

    OMP_NUM_THREADS=2 python tools/benchmarks/benchmark_video_demo.py \
        configs/video_kmax/video_kmax_r18_near-online_synthetic.py \
        --checkpoint work_dirs/video_kmax_r18/iter_1500.pth --out benchmark_video_demo.json
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / 'configs/video_kmax/video_kmax_r18_near-online_synthetic.py'


def load_script(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='Peak memory and frames/s of the video demo '
                                     'on long and short generated videos')
    parser.add_argument('config', nargs='?', default=str(DEFAULT_CONFIG))
    parser.add_argument('--checkpoint', help='weights (default: random)')
    parser.add_argument('--lengths', type=int, nargs='+', default=(3000, 300),
                        help='video lengths in frames')
    parser.add_argument('--size', type=int, nargs=2, default=(640, 360), metavar=('W', 'H'))
    parser.add_argument('--work-dir', help='where the videos and outputs go (default: a '
                        'temporary folder, removed afterwards)')
    parser.add_argument('--out', help='write the figures as JSON')
    parser.add_argument('--child', help=argparse.SUPPRESS)  # a video to run the demo on
    return parser.parse_args(args)


def write_moving_shapes(path: str, num_frames: int, width: int, height: int,
                        fps: float = 25.0) -> None:
    """An mp4 of a disc and a square moving over sky and ground, ``num_frames`` long."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f'{path}: OpenCV cannot open an mp4v video writer')
    base = np.zeros((height, width, 3), np.uint8)
    base[:height // 2] = (235, 175, 125)
    base[height // 2:] = (60, 100, 140)
    size = height // 6
    for i in range(num_frames):
        frame = base.copy()
        x = int((width - size) * (0.5 + 0.4 * np.sin(i / 40)))
        cv2.circle(frame, (x, height // 2), size // 2, (70, 190, 40), -1)
        y = int((height - size) * (0.5 + 0.3 * np.cos(i / 55)))
        frame[y:y + size, width // 4:width // 4 + size] = (40, 40, 220)
        writer.write(frame)
    writer.release()


def count_frames(path: str) -> int:
    capture = cv2.VideoCapture(path)
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def child(args) -> None:
    """Run the demo once in this (fresh) process and print its figures."""
    demo = load_script(REPO_ROOT / 'demo' / 'video_demo.py', 'mmvps_video_demo')
    peak_rss_mb = load_script(Path(__file__).with_name('benchmark_video_knet.py'),
                              'benchmark_video_knet').peak_rss_mb
    work = osp.dirname(args.child)
    cmd = [args.child, args.config, '--out', osp.join(work, 'overlay.mp4'), '--out-ids',
           osp.join(work, 'ids')]
    if args.checkpoint:
        cmd += ['--checkpoint', args.checkpoint]
    start = time.perf_counter()
    frames = demo.main(cmd)
    seconds = time.perf_counter() - start
    print(json.dumps(dict(frames=frames, seconds=seconds, peak_rss_mb=peak_rss_mb())))


def main(args=None):
    args = parse_args(args)
    if args.child:
        return child(args)
    width, height = args.size
    figures = dict(config=args.config, checkpoint=args.checkpoint, size=[width, height],
                   threads=os.environ.get('OMP_NUM_THREADS'), runs=[])
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work_dir or tmp
        for length in args.lengths:
            work = osp.join(root, f'{length}_frames')
            os.makedirs(work, exist_ok=True)
            video = osp.join(work, 'input.mp4')
            write_moving_shapes(video, length, width, height)
            cmd = [sys.executable, __file__, args.config, '--child', video]
            if args.checkpoint:
                cmd += ['--checkpoint', args.checkpoint]
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                [str(REPO_ROOT), os.environ.get('PYTHONPATH', '')]))
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
            run = json.loads(out.stdout.strip().splitlines()[-1])
            run.update(input_frames=count_frames(video),
                       overlay_frames=count_frames(osp.join(work, 'overlay.mp4')),
                       id_maps=len(os.listdir(osp.join(work, 'ids'))))
            run['frames_per_s'] = run['frames'] / run['seconds']
            figures['runs'].append(run)
            print(json.dumps(run))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(figures, f, indent=2)
    return figures


if __name__ == '__main__':
    main()

"""Inference speed (frames/s) of a video model through ``mmvps.apis.inference_video``: the
config's test transforms, clips and association included, drawing and file writing excluded.

Example::

    python tools/analysis_tools/benchmark.py CONFIG --checkpoint CKPT --video my.mp4
    python tools/analysis_tools/benchmark.py CONFIG --frames 100 --size 1280 720  # generated
"""
import argparse
import time

import numpy as np
import torch

from mmvps.apis import inference_video, init_model


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='Frames/s of a video model')
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights (default: random; speed is the same)')
    parser.add_argument('--video', help='a video file, folder of frames or glob (default: '
                        'generated frames)')
    parser.add_argument('--frames', type=int, default=50, help='generated frames')
    parser.add_argument('--size', type=int, nargs=2, default=(640, 360), metavar=('W', 'H'))
    parser.add_argument('--warmup', type=int, default=5, help='frames left out of the timing')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(args)


def generated_frames(num_frames: int, width: int, height: int):
    rng = np.random.default_rng(0)
    for _ in range(num_frames):
        yield rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def main(args=None):
    args = parse_args(args)
    if args.warmup < 0 or args.frames < 1:
        raise ValueError('--frames must be >= 1 and --warmup >= 0')
    model = init_model(args.config, args.checkpoint, device=args.device)
    frames = args.video or generated_frames(args.frames, *args.size)
    count = 0
    start = time.perf_counter() if args.warmup == 0 else None
    for result in inference_video(model, frames):
        if str(args.device).startswith('cuda'):
            torch.cuda.synchronize()
        count += 1
        if count == args.warmup:
            start = time.perf_counter()
    if start is None or count <= args.warmup:
        raise ValueError(f'{count} frames: need more than --warmup {args.warmup} to time')
    fps = (count - args.warmup) / (time.perf_counter() - start)
    print(f'{count} frames, {fps:.2f} frames/s (after {args.warmup} warm-up frames)')
    return dict(frames=count, fps=fps)


if __name__ == '__main__':
    main()

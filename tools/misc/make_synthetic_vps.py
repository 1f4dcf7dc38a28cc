"""Write the synthetic video datasets used by the CPU demos and tests.

``--format vipseg`` (default): video panoptic, VIPSeg's raw layout.
``--format vspw``: video semantic, VSPW's layout, with hard frames listed in
``hard_frames.json`` (for the temporal models, e.g. TCB).

Examples::

    python tools/misc/make_synthetic_vps.py data/synthetic_vps --seed 0
    python tools/misc/make_synthetic_vps.py data/synthetic_vss --format vspw
"""
import argparse

from mmvps.datasets.synthetic import generate_synthetic_vps
from mmvps.datasets.synthetic_vss import generate_synthetic_vss

# per format: train videos, val videos, frames per video
DEFAULTS = dict(vipseg=(8, 4, 12), vspw=(48, 8, 24))


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='Generate a synthetic video dataset')
    parser.add_argument('out_dir', help='root of the tree to write')
    parser.add_argument('--format', choices=sorted(DEFAULTS), default='vipseg',
                        help='vipseg: panoptic, VIPSeg raw layout; vspw: semantic, VSPW layout '
                        'with hard frames')
    parser.add_argument('--train-videos', type=int,
                        help='videos in train.txt (default 8 vipseg, 48 vspw)')
    parser.add_argument('--val-videos', type=int,
                        help='videos in val.txt (default 4 vipseg, 8 vspw)')
    parser.add_argument('--frames', type=int,
                        help='frames per video (default 12 vipseg, 24 vspw)')
    parser.add_argument('--height', type=int, default=96, help='frame height in pixels')
    parser.add_argument('--width', type=int, default=160, help='frame width in pixels')
    parser.add_argument('--seed', type=int, default=0, help='random seed (same seed, same bytes)')
    parser.add_argument('--hard-prob', type=float,
                        help='vspw only: probability that a frame is hard (default 0.3)')
    parser.add_argument('--hard-noise-sigma', type=float,
                        help='vspw only: noise of the noisy hard frames (default 40)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an earlier synthetic tree in out_dir')
    args = parser.parse_args(args)
    if args.format != 'vspw':
        for option in ('hard_prob', 'hard_noise_sigma'):
            if getattr(args, option) is not None:
                parser.error(f'--{option.replace("_", "-")} applies to --format vspw only')
    for option, default in zip(('train_videos', 'val_videos', 'frames'), DEFAULTS[args.format]):
        if getattr(args, option) is None:
            setattr(args, option, default)
    return args


def main(args=None):
    args = parse_args(args)
    common = dict(
        num_train_videos=args.train_videos,
        num_val_videos=args.val_videos,
        num_frames=args.frames,
        height=args.height,
        width=args.width,
        seed=args.seed,
        overwrite=args.overwrite)
    if args.format == 'vspw':
        hard = {key: value for key, value in (('hard_prob', args.hard_prob),
                                              ('hard_noise_sigma', args.hard_noise_sigma))
                if value is not None}
        metainfo = generate_synthetic_vss(args.out_dir, **common, **hard)
        layout = 'VSPW layout, hard frames in hard_frames.json'
    else:
        metainfo = generate_synthetic_vps(args.out_dir, **common)
        layout = 'VIPSeg raw layout'
    print(f'wrote {args.train_videos} train + {args.val_videos} val videos of {args.frames} '
          f'frames ({args.height}x{args.width}, {layout}) to {args.out_dir}; classes (training '
          f'label order): {", ".join(metainfo["classes"])}')


if __name__ == '__main__':
    main()

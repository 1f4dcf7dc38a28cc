"""Write the synthetic video panoptic dataset (VIPSeg raw layout) used by the CPU demo and tests.

Example: ``python tools/misc/make_synthetic_vps.py data/synthetic_vps --seed 0``
"""
import argparse

from mmvps.datasets.synthetic import generate_synthetic_vps


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='Generate a synthetic VIPSeg-format dataset')
    parser.add_argument('out_dir', help='root of the tree to write')
    parser.add_argument('--train-videos', type=int, default=8, help='videos in train.txt')
    parser.add_argument('--val-videos', type=int, default=4, help='videos in val.txt')
    parser.add_argument('--frames', type=int, default=12, help='frames per video')
    parser.add_argument('--height', type=int, default=96, help='frame height in pixels')
    parser.add_argument('--width', type=int, default=160, help='frame width in pixels')
    parser.add_argument('--seed', type=int, default=0, help='random seed (same seed, same bytes)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an earlier synthetic tree in out_dir')
    return parser.parse_args(args)


def main(args=None):
    args = parse_args(args)
    metainfo = generate_synthetic_vps(
        args.out_dir,
        num_train_videos=args.train_videos,
        num_val_videos=args.val_videos,
        num_frames=args.frames,
        height=args.height,
        width=args.width,
        seed=args.seed,
        overwrite=args.overwrite)
    print(f'wrote {args.train_videos} train + {args.val_videos} val videos of {args.frames} '
          f'frames ({args.height}x{args.width}) to {args.out_dir}; classes (training label '
          f'order): {", ".join(metainfo["classes"])}')


if __name__ == '__main__':
    main()

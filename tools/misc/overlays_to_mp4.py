"""Turn drawn frames (``tools/test.py --show-dir DIR`` writes ``DIR/<video>/<frame>.jpg``) into
one mp4 per video, ``DIR/<video>.mp4``."""
import argparse

from mmvps.visualization import write_overlay_videos


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dir', help='folder with one sub-folder of drawn frames per video')
    parser.add_argument('--fps', type=float, default=5.0, help='frame rate (default 5)')
    parser.add_argument('--videos', nargs='+', help='only these videos (default: all)')
    args = parser.parse_args(argv)
    for path in write_overlay_videos(args.dir, args.fps, args.videos):
        print(path)


if __name__ == '__main__':
    main()

"""Resize VIPSeg to 720p, the resolution every VIPSeg method trains and evaluates at.

``VIPSeg/{imgs,panomasks}/<video>/<frame>`` -> ``VIPSeg_720P/{images,panomasks}/<video>/<frame>``
with the official rule of ``change2_720p.py``: frames ``resize((int(720 * w / h), 720),
BILINEAR)``, raw 16-bit masks NEAREST. Unlike the official script it

* also converts the test videos' frames (they have no masks; the official script skips them),
* sets the stray raw value 200 (VIPSeg issue #1) to 0 (void),
* runs in parallel and is resumable: outputs that already decode completely with the right size
  are kept, every file is written under a temporary name and then renamed,
* stops on nothing: every problem is collected, named by file, and makes the exit code 1.

The split lists and category JSONs found in the root are copied along.

Example::

    python tools/dataset_converters/vipseg_to_720p.py data/VIPSeg data/VIPSeg/VIPSeg_720P
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from converter_utils import (check_split_lists, collect_resize_tasks,  # noqa: E402
                             copy_atomic, finish, remove_stale_tmp, resize_frame, run_tasks)

VIPSEG_HEIGHT = 720
RAW_MASK_MODES = ('I;16', 'I;16B', 'I;16L', 'I', 'L')
STRAY_VOID_VALUES = (200, )
SIDE_FILES = ('train.txt', 'val.txt', 'test.txt', 'label_num_dic_final.json',
              'panoVIPSeg_categories.json')


def convert(src, out, nproc):
    """Convert the tree; return the exit code."""
    img_root, mask_root = osp.join(src, 'imgs'), osp.join(src, 'panomasks')
    if not osp.isdir(img_root):
        raise SystemExit(f'{img_root}: folder not found (expected the VIPSeg download layout '
                         'imgs/<video>/<frame>.jpg, panomasks/<video>/<frame>.png)')
    removed = remove_stale_tmp(out) if osp.isdir(out) else 0
    videos = sorted(os.listdir(img_root))
    annotated, errors, notes = check_split_lists(src, videos)
    if osp.isdir(mask_root):
        errors += [f'{osp.join(mask_root, v)}: masks of a video missing from {img_root}'
                   for v in sorted(set(os.listdir(mask_root)) - set(videos))]

    def layout(video):
        return (osp.join(img_root, video), osp.join(mask_root, video),
                osp.join(out, 'images', video), osp.join(out, 'panomasks', video))

    tasks, pair_errors, pair_notes, counts = collect_resize_tasks(
        videos, layout, annotated, VIPSEG_HEIGHT, RAW_MASK_MODES, STRAY_VOID_VALUES)
    if removed:
        notes.append(f'removed {removed} temporary files of an interrupted run')
    for name in SIDE_FILES:
        if osp.isfile(osp.join(src, name)):
            counts['side files ' + copy_atomic(osp.join(src, name), osp.join(out, name))] += 1
    done, task_errors = run_tasks(resize_frame, tasks, nproc, 'VIPSeg -> 720p')
    return finish(f'VIPSeg -> {out}', counts + done, errors + pair_errors + task_errors,
                  notes + pair_notes)


def parse_args():
    parser = argparse.ArgumentParser(description='Resize VIPSeg frames and masks to 720p')
    parser.add_argument('src', help='VIPSeg root with imgs/ and panomasks/')
    parser.add_argument('out', help='output root (VIPSeg_720P)')
    parser.add_argument('--nproc', type=int, default=os.cpu_count(), help='worker processes')
    return parser.parse_args()


def main():
    args = parse_args()
    sys.exit(convert(args.src, args.out, args.nproc))


if __name__ == '__main__':
    main()

"""Resize VSPW to 480p, the resolution VSPW methods train and evaluate at.

``VSPW/data/<video>/{origin,mask}/<frame>`` -> ``VSPW_480p/data/<video>/{origin,mask}/<frame>``
with the official rule of ``change2_480p.py``: frames ``resize((int(480 * w / h), 480),
BILINEAR)``, 8-bit masks NEAREST (values kept as they are: 0 "others", 1..124, 255 void).
Test videos have no ``mask/`` folder and are converted frames only. Parallel and resumable
(outputs that already decode completely with the right size are kept; every file is written
under a temporary name and then renamed); every problem is reported with its file name and
makes the exit code 1. The split lists and the label JSON are copied along.

Example::

    python tools/dataset_converters/vspw_to_480p.py data/VSPW data/VSPW_480p
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from converter_utils import (check_split_lists, collect_resize_tasks,  # noqa: E402
                             copy_atomic, finish, remove_stale_tmp, resize_frame, run_tasks)

VSPW_HEIGHT = 480
MASK_MODES = ('L', 'P')
SIDE_FILES = ('train.txt', 'val.txt', 'test.txt', 'label_num_dic_final.json')


def convert(src, out, nproc):
    """Convert the tree; return the exit code."""
    data_root = osp.join(src, 'data')
    if not osp.isdir(data_root):
        raise SystemExit(f'{data_root}: folder not found (expected the VSPW layout '
                         'data/<video>/origin/<frame>.jpg, data/<video>/mask/<frame>.png)')
    removed = remove_stale_tmp(out) if osp.isdir(out) else 0
    videos = sorted(os.listdir(data_root))
    annotated, errors, notes = check_split_lists(src, videos)
    missing = [v for v in videos if not osp.isdir(osp.join(data_root, v, 'origin'))]
    errors += [f'{osp.join(data_root, v, "origin")}: frame folder missing' for v in missing]

    def layout(video):
        return (osp.join(data_root, video, 'origin'), osp.join(data_root, video, 'mask'),
                osp.join(out, 'data', video, 'origin'), osp.join(out, 'data', video, 'mask'))

    tasks, pair_errors, pair_notes, counts = collect_resize_tasks(
        [v for v in videos if v not in missing], layout, annotated, VSPW_HEIGHT, MASK_MODES)
    if removed:
        notes.append(f'removed {removed} temporary files of an interrupted run')
    for name in SIDE_FILES:
        if osp.isfile(osp.join(src, name)):
            counts['side files ' + copy_atomic(osp.join(src, name), osp.join(out, name))] += 1
    done, task_errors = run_tasks(resize_frame, tasks, nproc, 'VSPW -> 480p')
    return finish(f'VSPW -> {out}', counts + done, errors + pair_errors + task_errors,
                  notes + pair_notes)


def parse_args():
    parser = argparse.ArgumentParser(description='Resize VSPW frames and masks to 480p')
    parser.add_argument('src', help='VSPW root with data/<video>/{origin,mask}')
    parser.add_argument('out', help='output root (VSPW_480p)')
    parser.add_argument('--nproc', type=int, default=os.cpu_count(), help='worker processes')
    return parser.parse_args()


def main():
    args = parse_args()
    sys.exit(convert(args.src, args.out, args.nproc))


if __name__ == '__main__':
    main()

"""Arrange KITTI-STEP from KITTI's own download layout into the deeplab2 layout.

``<kitti>/training/image_02/<seq>/<frame>.png`` + ``<kitti>/training/panoptic/<seq>/<frame>.png``
(and ``<kitti>/testing/image_02/<seq>/...`` when present) ->
``<out>/images/{train,val,test}/<seq>/<frame>.png`` + ``<out>/panoptic_maps/{train,val}/<seq>/...``
with the official KITTI-MOTS / STEP split of the 21 training sequences (12 train, 9 val).
Files are copied (or symlinked with ``--symlink``) through temporary names; a rerun keeps what is
already there. Every frame must have its panoptic map (same stem, RGB, same size) and vice
versa; each problem is reported with its file name and makes the exit code 1.

Example::

    python tools/dataset_converters/kitti_step_prepare.py data/kitti data/kitti-step
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from converter_utils import (ConversionError, check_label_png, copy_atomic,  # noqa: E402
                             finish, list_frames, open_image, remove_stale_tmp, run_tasks)

TRAIN_SEQUENCES = ('0000', '0001', '0003', '0004', '0005', '0009', '0011', '0012', '0015', '0017',
                   '0019', '0020')
VAL_SEQUENCES = ('0002', '0006', '0007', '0008', '0010', '0013', '0014', '0016', '0018')
# Frames per split in deeplab2's ``splits_to_sizes`` (a completeness check, not a requirement).
DEEPLAB2_SPLIT_SIZES = dict(train=5027, val=2981, test=11095)


def link_atomic(src, dst):
    """Symlink ``dst -> src`` through a temporary name; ``'already done'`` when it is one."""
    src = osp.abspath(src)
    if osp.islink(dst) and os.readlink(dst) == src:
        return 'already done'
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = osp.join(osp.dirname(dst), f'.{osp.basename(dst)}.{os.getpid()}.mmvps-tmp')
    os.symlink(src, tmp)
    os.replace(tmp, dst)
    return 'written'


def place_frame(task):
    """Worker: check a frame / panoptic map pair and copy or link both."""
    src_img, dst_img, src_pan, dst_pan, symlink = task
    place = link_atomic if symlink else copy_atomic
    statuses = []
    if src_pan is not None:
        with open_image(src_img) as img, open_image(src_pan) as pan:
            if pan.mode != 'RGB':
                raise ConversionError(f'{src_pan}: panoptic map has mode {pan.mode}, expected '
                                      'RGB (R semantic, G * 256 + B instance)')
            check_label_png(src_pan, 'rgb')  # not 16 bits per channel
            if pan.size != img.size:
                raise ConversionError(f'{src_pan}: size {pan.size} differs from its frame '
                                      f'{src_img} {img.size}')
        statuses.append('panoptic maps ' + place(src_pan, dst_pan))
    statuses.append('images ' + place(src_img, dst_img))
    return statuses


def collect_tasks(kitti, out, symlink):
    """Pair the frames of every sequence; return ``(tasks, errors, notes, frames per split)``."""
    train_img, train_pan = osp.join(kitti, 'training', 'image_02'), osp.join(
        kitti, 'training', 'panoptic')
    test_img = osp.join(kitti, 'testing', 'image_02')
    for folder in (train_img, train_pan):
        if not osp.isdir(folder):
            raise SystemExit(f'{folder}: folder not found (expected KITTI\'s layout '
                             'training/{image_02,panoptic}/<seq>/<frame>.png)')
    sequences = [(split, seq, osp.join(train_img, seq), osp.join(train_pan, seq))
                 for split, seqs in (('train', TRAIN_SEQUENCES), ('val', VAL_SEQUENCES))
                 for seq in seqs]
    notes = []
    if osp.isdir(test_img):
        sequences += [('test', seq, osp.join(test_img, seq), None)
                      for seq in sorted(os.listdir(test_img))]
    else:
        notes.append(f'{test_img} not found: the test split is not written')
    known = set(TRAIN_SEQUENCES + VAL_SEQUENCES)
    extra = sorted(set(os.listdir(train_img)) - known)
    if extra:
        notes.append(f'{len(extra)} training sequences are in no official split and were not '
                     f'copied: {extra}')

    tasks, errors, ignored, sizes = [], [], [], dict(train=0, val=0, test=0)
    for split, seq, img_dir, pan_dir in sequences:
        if not osp.isdir(img_dir):
            errors.append(f'{img_dir}: sequence of the {split} split not found')
            continue
        frames, others = list_frames(img_dir, '.png')
        ignored += others
        maps = {}
        if pan_dir is not None:
            if not osp.isdir(pan_dir):
                errors.append(f'{pan_dir}: panoptic maps of a {split} sequence not found')
                continue
            maps, others = list_frames(pan_dir, '.png')
            ignored += others
            errors += [f'{osp.join(pan_dir, maps[s])}: panoptic map without a frame in {img_dir}'
                       for s in sorted(set(maps) - set(frames))]
        for stem, name in frames.items():
            if pan_dir is not None and stem not in maps:
                errors.append(f'{osp.join(img_dir, name)}: frame without a panoptic map in '
                              f'{pan_dir}')
                continue
            sizes[split] += 1
            tasks.append((osp.join(img_dir, name), osp.join(out, 'images', split, seq, name),
                          osp.join(pan_dir, maps[stem]) if pan_dir else None,
                          osp.join(out, 'panoptic_maps', split, seq, maps[stem]) if pan_dir
                          else None, symlink))
    if ignored:
        notes.append(f'{len(ignored)} files that are not .png were not copied: {ignored[:5]}')
    return tasks, errors, notes, sizes


def prepare(kitti, out, nproc, symlink=False):
    """Build the deeplab2 layout; return the exit code."""
    removed = remove_stale_tmp(out) if osp.isdir(out) else 0
    tasks, errors, notes, sizes = collect_tasks(kitti, out, symlink)
    if removed:
        notes.append(f'removed {removed} temporary files of an interrupted run')
    for split, n in sizes.items():
        if n and n != DEEPLAB2_SPLIT_SIZES[split]:
            notes.append(f'{split} has {n} frames, the full KITTI-STEP {split} split has '
                         f'{DEEPLAB2_SPLIT_SIZES[split]}')
    counts, task_errors = run_tasks(place_frame, tasks, nproc, 'KITTI-STEP')
    counts.update({f'{split} frames': n for split, n in sizes.items()})
    return finish(f'KITTI -> KITTI-STEP in {out}', counts, errors + task_errors, notes)


def parse_args():
    parser = argparse.ArgumentParser(description='Arrange KITTI-STEP in the deeplab2 layout')
    parser.add_argument('kitti', help='KITTI root with training/{image_02,panoptic}')
    parser.add_argument('out', help='output root (images/, panoptic_maps/)')
    parser.add_argument('--symlink', action='store_true', help='symlink instead of copying')
    parser.add_argument('--nproc', type=int, default=os.cpu_count(), help='worker processes')
    return parser.parse_args()


def main():
    args = parse_args()
    sys.exit(prepare(args.kitti, args.out, args.nproc, args.symlink))


if __name__ == '__main__':
    main()

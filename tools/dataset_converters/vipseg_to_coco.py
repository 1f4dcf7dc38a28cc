"""Convert VIPSeg raw panoptic masks to the COCO-panoptic video format of the official
``create_panoptic_video_labels.py`` + ``splitjson.py`` (read by DVIS / Clip-PanoFCN loaders).

``<root>/panomasks/<video>/<frame>.png`` (raw 16-bit) -> ``<root>/panomasksRGB/<video>/<frame>.png``
(RGB segment ids ``R + 256 G + 65536 B``) and ``<root>/panoptic_gt_VIPSeg_{train,val}.json``
(``videos`` / ``annotations`` nested per video, ``categories``; image ids are the frame stems,
``file_name`` the PNG name, ``segments_info`` with ``id``, ``category_id`` (0..123), ``iscrowd``
0 and ``area``). As in the official script a stuff segment's id is its category colour and a
thing keeps one id in every frame of its video; unlike it, the thing colours are deterministic
(a seeded perturbation instead of ``np.random``), so two conversions give identical files.
Categories come from ``<root>/panoVIPSeg_categories.json`` as in the official script (mmvps'
copy of VIPSeg's list when the file is absent). The stray raw value 200 is void. A thing category
written with a stuff value (no instance index) gets ``iscrowd`` 1 (the official script writes
0), so both layouts decode to the same ground truth (crowd, docs/conventions.md §1). Test
videos have no masks and get no JSON.

Example::

    python tools/dataset_converters/vipseg_to_coco.py data/VIPSeg/VIPSeg_720P
"""
import argparse
import os
import os.path as osp
import sys
import zlib

import numpy as np
from PIL import Image

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from converter_utils import (ConversionError, dump_json_atomic, finish,  # noqa: E402
                             list_frames, read_split_lists, remove_stale_tmp, run_tasks,
                             save_atomic)

from mmvps.datasets.classes.vipseg import CATEGORIES  # noqa: E402
from mmvps.datasets.formats import (FormatError, decode_vipseg_raw, id2rgb,  # noqa: E402
                                    load_json, read_png, vipseg_panoptic_json)

SPLITS = ('train', 'val')
CATEGORIES_FILE = 'panoVIPSeg_categories.json'
COLOR_JITTER = 30  # panopticapi IdGenerator's perturbation of a taken thing colour


class VideoSegmentIds:
    """Segment ids of one video, as panopticapi's ``IdGenerator`` gives them: stuff -> its
    category colour; a new thing -> its category colour if no stuff or earlier thing of the
    video has it, else a perturbed free colour from a generator seeded by the video name."""

    def __init__(self, video, categories):
        self.categories = {c['id']: c for c in categories}
        stuff_colors = [tuple(c['color']) for c in categories if not c['isthing']]
        if len(set(stuff_colors)) != len(stuff_colors):
            raise ValueError('two stuff categories share a colour (= segment id)')
        self.taken = {(0, 0, 0)} | set(stuff_colors)
        self.rng = np.random.RandomState(zlib.crc32(video.encode('utf-8')))
        self.things = {}

    def __call__(self, cat, inst):
        category = self.categories[cat]
        if not category['isthing']:
            return self._id(category['color'])
        if (cat, inst) not in self.things:
            color = tuple(category['color'])
            while color in self.taken:
                jitter = self.rng.randint(-COLOR_JITTER, COLOR_JITTER + 1, size=3)
                color = tuple(np.clip(np.asarray(category['color']) + jitter, 0, 255).tolist())
            self.taken.add(color)
            self.things[(cat, inst)] = self._id(color)
        return self.things[(cat, inst)]

    @staticmethod
    def _id(color):
        return int(color[0]) + 256 * int(color[1]) + 65536 * int(color[2])


def load_categories(root):
    """``<root>/panoVIPSeg_categories.json`` as the official script reads it (a list of
    ``dict(id, name, isthing, color)``), or mmvps' copy of VIPSeg's list when it is absent."""
    path = osp.join(root, CATEGORIES_FILE)
    if not osp.isfile(path):
        return [dict(c, color=list(c['color'])) for c in CATEGORIES], 'mmvps VIPSeg categories'
    categories = load_json(path)
    if not isinstance(categories, list) or not all(
            isinstance(c, dict) and {'id', 'name', 'isthing', 'color'} <= set(c)
            for c in categories):
        raise FormatError(f'{path}: expected a list of categories with id, name, isthing, color')
    return categories, path


def convert_video(task):
    """Worker: write the RGB masks of one video; return its frame records (JSON input)."""
    mask_dir, out_dir, video, categories = task
    masks, others = list_frames(mask_dir, '.png')
    if others:
        raise ConversionError(f'{others[0]}: not a .png mask ({len(others)} such files in '
                              f'{mask_dir})')
    if not masks:
        raise ConversionError(f'{mask_dir}: no masks')
    segment_ids = VideoSegmentIds(video, categories)
    frames, stray = [], 0
    for stem, name in masks.items():
        path = osp.join(mask_dir, name)
        raw = read_png(path, 'gray16').astype(np.int64)
        cat, inst = decode_vipseg_raw(raw, path)
        stray += int((raw == 200).any())
        values, first = np.unique(raw, return_index=True)
        value_ids = np.zeros(len(values), dtype=np.int64)
        segments = {}
        for k, pos in enumerate(first):
            c = int(cat.flat[pos])
            if c < 0:
                continue
            if c not in segment_ids.categories:
                raise ConversionError(f'{path}: raw value {values[k]} has category {c}, which '
                                      'the categories do not list')
            track = int(inst.flat[pos])
            value_ids[k] = segment_ids(c, track)
            crowd = int(segment_ids.categories[c]['isthing'] and track == 0)
            segments.setdefault(int(value_ids[k]), dict(id=int(value_ids[k]), category_id=c,
                                                          iscrowd=crowd))
        ids = value_ids[np.searchsorted(values, raw)]
        save_atomic(Image.fromarray(id2rgb(ids)), osp.join(out_dir, name))
        seg_values, areas = np.unique(ids, return_counts=True)
        for sid, area in zip(seg_values.tolist(), areas.tolist()):
            if sid:
                segments[sid]['area'] = area
        frames.append(dict(stem=stem, height=raw.shape[0], width=raw.shape[1],
                           segments_info=list(segments.values())))
    statuses = ['videos converted'] + ['frames converted'] * len(frames)
    statuses += ['frames with the stray value 200 (void)'] * stray
    return statuses, frames


def convert(root, nproc):
    """Convert the train and val videos of ``root``; return the exit code."""
    mask_root, out_root = osp.join(root, 'panomasks'), osp.join(root, 'panomasksRGB')
    if not osp.isdir(mask_root):
        raise SystemExit(f'{mask_root}: folder not found (expected panomasks/<video>/<frame>.png)')
    splits = read_split_lists(root, SPLITS)
    missing = [osp.join(root, f'{s}.txt') for s in SPLITS if s not in splits]
    if missing:
        raise SystemExit(f'{missing[0]}: split list not found')
    removed = remove_stale_tmp(out_root) if osp.isdir(out_root) else 0
    videos = [v for s in SPLITS for v in splits[s]]
    errors = [f'{osp.join(mask_root, v)}: masks missing for a video of {s}.txt'
              for s in SPLITS for v in splits[s] if not osp.isdir(osp.join(mask_root, v))]
    try:
        categories, source = load_categories(root)
    except FormatError as err:
        raise SystemExit(str(err)) from err
    tasks = [(osp.join(mask_root, v), osp.join(out_root, v), v, categories) for v in videos
             if osp.isdir(osp.join(mask_root, v))]
    notes = [f'categories from {source}']
    if removed:
        notes.append(f'removed {removed} temporary files of an interrupted run')
    unlisted = sorted(set(os.listdir(mask_root)) - set(videos))
    if unlisted:
        notes.append(f'{len(unlisted)} mask folders in no train/val list were not converted: '
                     f'{unlisted[:3]}')

    counts, task_errors, results = run_tasks(convert_video, tasks, nproc,
                                             'VIPSeg -> COCO panoptic', with_payload=True)
    records = {task[2]: frames for task, frames in zip(tasks, results) if frames is not None}
    errors += task_errors
    for split in SPLITS:
        done = [dict(video_id=v, frames=records[v]) for v in sorted(splits[split]) if v in records]
        path = osp.join(root, f'panoptic_gt_VIPSeg_{split}.json')
        if len(done) < len(splits[split]):
            notes.append(f'{path} not written: {len(splits[split]) - len(done)} of its videos '
                         'failed (errors below)')
            continue
        dump_json_atomic(vipseg_panoptic_json(done, categories), path)
        counts[f'{split} videos in {osp.basename(path)}'] = len(done)
    return finish(f'VIPSeg -> COCO panoptic in {root}', counts, errors, notes)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Convert VIPSeg raw masks to COCO-panoptic RGB masks and JSONs')
    parser.add_argument('root', help='VIPSeg root (usually VIPSeg_720P) with panomasks/, '
                        'train.txt and val.txt')
    parser.add_argument('--nproc', type=int, default=os.cpu_count(), help='worker processes')
    return parser.parse_args()


def main():
    args = parse_args()
    sys.exit(convert(args.root, args.nproc))


if __name__ == '__main__':
    main()

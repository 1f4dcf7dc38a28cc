"""Score prediction folders in the official submission formats against official ground truth.

    python tools/analysis_tools/eval_vps.py FORMAT --gt-root GT --pred-root PRED [--split val]
        [--windows 1,2,4,6] [--workers N] [--out results.json] [--vipseg-stq-compat]

FORMAT and layouts (GT under --gt-root, predictions under --pred-root):

* ``vipseg``: ``panomasksRGB/<video>/<frame>.png`` + ``panoptic_gt_VIPSeg_<split>.json``;
  ``pan_pred/<video>/<frame>.png`` + ``pred.json``.
* ``cityscapes_vps``: ``panoptic_video/<label>.png`` + ``panoptic_gt_<split>_city_vps.json``;
  ``pan_pred/<image id>.png`` + ``pred.json`` (flat, one entry per GT image).
* ``kitti_step`` / ``motchallenge_step``: ``panoptic_maps/<split>/<seq>/<frame>.png``;
  ``<seq>/<frame>.png`` (R = trainId, G / B = track id).
* ``vspw``: ``data/<video>/mask/<frame>.png`` + ``<split>.txt``; ``<video>/<frame>.png``
  (0-based class id, 255 ignore).

Every video and frame of the ground truth must have a prediction and vice versa; sizes must
agree; every PNG id must be listed in the JSON with a known category. Any violation stops the
scorer with an error naming the file: a subset is never scored silently. COCO-panoptic frames
are scored segment by segment as the official scripts read them (``update_segments`` of the
core: segment ids are tubes, a prediction's ``iscrowd`` is ignored, ...). Videos are scored by a
process pool of at most one worker per video and CPU (one accumulator per video, merged in video
order, so the numbers do not depend on ``--workers``); a worker that dies ends the run with an
error. Prints a table (x100) and writes fractions to ``--out``, whose folder is checked first.
"""
import argparse
import json
import os
import os.path as osp
import sys
from functools import partial
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from tqdm import tqdm

from mmvps.datasets.classes import kitti_step, motchallenge_step, vspw
from mmvps.datasets.formats import (FormatError, index_segments, load_json, load_step, load_vspw,
                                    load_vspw_prediction, parse_categories, read_text_lines,
                                    read_cityscapes_vps_panoptic_json, read_coco_panoptic_ids,
                                    read_vipseg_panoptic_json)
from mmvps.evaluation.functional import (WINDOW_PRESETS, VideoPanopticAccumulator,
                                         VideoSemSegAccumulator, count_index_pairs)

VOID = 255
DEFAULT_WINDOWS = dict(vipseg='vipseg', cityscapes_vps='cityscapes_vps', kitti_step='kitti_step',
                       motchallenge_step='kitti_step')


# ------------------------------------------------------------------------------ file layouts
def _list_pngs(folder, what):
    if not osp.isdir(folder):
        raise FormatError(f'{folder}: {what} folder not found')
    return sorted(f for f in os.listdir(folder) if f.endswith('.png'))


def _check_same(expected, found, where, what):
    """Raise naming the first missing and extra entries of ``found`` against ``expected``."""
    missing = [x for x in expected if x not in set(found)]
    extra = sorted(set(found) - set(expected))
    if missing:
        raise FormatError(f'{where}: missing {what} {missing[:5]} ({len(missing)} in all)')
    if extra:
        raise FormatError(f'{where}: {what} {extra[:5]} are not in the ground truth '
                          f'({len(extra)} in all)')


def _check_not_empty(items, where, what):
    if not items:
        raise FormatError(f'{where}: the ground truth holds no {what}')


def _coco_frame(path, segments_info):
    return ('coco', path, segments_info)


def vipseg_layout(gt_root, pred_root, split, categories=None):
    """Categories and ``[(video, [(gt frame, pred frame)])]`` of a VIPSeg submission."""
    gt_json = osp.join(gt_root, f'panoptic_gt_VIPSeg_{split}.json')
    pred_json = osp.join(pred_root, 'pred.json')
    categories = categories or parse_categories(load_json(gt_json), gt_json)
    gt_videos = read_vipseg_panoptic_json(gt_json)
    _check_not_empty(gt_videos, gt_json, 'video')
    for name, frames in gt_videos.items():
        _check_not_empty(frames, gt_json, f'frame of video {name}')
    pred_videos = read_vipseg_panoptic_json(pred_json)
    _check_same(list(gt_videos), list(pred_videos), pred_json, 'videos')
    _check_same(list(gt_videos), [d for d in os.listdir(osp.join(pred_root, 'pan_pred'))
                                  if osp.isdir(osp.join(pred_root, 'pan_pred', d))]
                if osp.isdir(osp.join(pred_root, 'pan_pred')) else [],
                osp.join(pred_root, 'pan_pred'), 'video folders')
    videos = []
    for name, gt_frames in gt_videos.items():
        pred_frames = pred_videos[name]
        names = [f['file_name'] for f in gt_frames]
        _check_same(names, [f['file_name'] for f in pred_frames], f'{pred_json} (video {name})',
                    'frames')
        pred_dir = osp.join(pred_root, 'pan_pred', name)
        _check_same(names, _list_pngs(pred_dir, 'prediction'), pred_dir, 'frame PNGs')
        pred_by_name = {f['file_name']: f for f in pred_frames}
        videos.append((name, [
            (_coco_frame(osp.join(gt_root, 'panomasksRGB', name, f['file_name']),
                         f['segments_info']),
             _coco_frame(osp.join(pred_dir, f['file_name']),
                         pred_by_name[f['file_name']]['segments_info'])) for f in gt_frames
        ]))
    return categories, videos


def cityscapes_vps_layout(gt_root, pred_root, split, categories=None):
    """Categories and videos (grouped by the ``VVVV`` prefix) of a Cityscapes-VPS submission.
    ``pred.json`` entries are matched by ``image_id`` when they have one, else by position."""
    gt_json = osp.join(gt_root, f'panoptic_gt_{split}_city_vps.json')
    pred_json = osp.join(pred_root, 'pred.json')
    categories = categories or parse_categories(load_json(gt_json), gt_json)
    gt_frames = read_cityscapes_vps_panoptic_json(gt_json)
    _check_not_empty(gt_frames, gt_json, 'image')
    pred_frames = read_cityscapes_vps_panoptic_json(pred_json)
    if len(pred_frames) != len(gt_frames):
        raise FormatError(f'{pred_json}: {len(pred_frames)} annotations for {len(gt_frames)} '
                          f'ground-truth images')
    ids = [f['image_id'] for f in gt_frames]
    if all(f['image_id'] is not None for f in pred_frames):
        _check_same(ids, [f['image_id'] for f in pred_frames], pred_json, 'image ids')
        by_id = {f['image_id']: f for f in pred_frames}
        pred_frames = [by_id[i] for i in ids]
    pred_dir = osp.join(pred_root, 'pan_pred')
    _check_same([i + '.png' for i in ids], _list_pngs(pred_dir, 'prediction'), pred_dir, 'PNGs')
    videos = {}
    for gt, pred in zip(gt_frames, pred_frames):
        videos.setdefault(gt['image_id'][:4], []).append((
            _coco_frame(osp.join(gt_root, 'panoptic_video', gt['label_file_name']),
                        gt['segments_info']),
            _coco_frame(osp.join(pred_dir, gt['image_id'] + '.png'), pred['segments_info'])))
    return categories, list(videos.items())


def step_layout(gt_root, pred_root, split, categories=None, default=()):
    """Sequences of a STEP submission: ``panoptic_maps/<split>/<seq>`` against ``<seq>``."""
    gt_dir = osp.join(gt_root, 'panoptic_maps', split)
    if not osp.isdir(gt_dir):
        raise FormatError(f'{gt_dir}: ground-truth folder not found')
    sequences = sorted(d for d in os.listdir(gt_dir) if osp.isdir(osp.join(gt_dir, d)))
    _check_not_empty(sequences, gt_dir, 'sequence folder')
    _check_same(sequences, [d for d in os.listdir(pred_root) if osp.isdir(osp.join(pred_root, d))],
                pred_root, 'sequence folders')
    videos = []
    for seq in sequences:
        names = _list_pngs(osp.join(gt_dir, seq), 'ground-truth')
        _check_not_empty(names, osp.join(gt_dir, seq), '*.png frame')
        _check_same(names, _list_pngs(osp.join(pred_root, seq), 'prediction'),
                    osp.join(pred_root, seq), 'frame PNGs')
        videos.append((seq, [(('step', osp.join(gt_dir, seq, n)),
                              ('step', osp.join(pred_root, seq, n))) for n in names]))
    return list(categories or default), videos


def vspw_layout(gt_root, pred_root, split, categories=None):
    """Videos of ``<split>.txt`` with their ``data/<video>/mask`` frames against ``<video>``."""
    list_file = osp.join(gt_root, f'{split}.txt')
    if not osp.isfile(list_file):
        raise FormatError(f'{list_file}: file not found')
    names = [line.strip() for line in read_text_lines(list_file) if line.strip()]
    if not names:
        raise FormatError(f'{list_file}: lists no video')
    _check_same(names, [d for d in os.listdir(pred_root) if osp.isdir(osp.join(pred_root, d))],
                pred_root, 'video folders')
    videos = []
    for name in names:
        mask_dir = osp.join(gt_root, 'data', name, 'mask')
        frames = _list_pngs(mask_dir, 'ground-truth mask')
        if not frames:
            raise FormatError(f'{mask_dir}: no ground-truth mask')
        _check_same(frames, _list_pngs(osp.join(pred_root, name), 'prediction'),
                    osp.join(pred_root, name), 'frame PNGs')
        videos.append((name, [(('vspw_gt', osp.join(mask_dir, n)),
                               ('vspw_pred', osp.join(pred_root, name, n))) for n in frames]))
    return list(categories or vspw.CATEGORIES), videos


LAYOUTS = dict(
    vipseg=vipseg_layout,
    cityscapes_vps=cityscapes_vps_layout,
    kitti_step=partial(step_layout, default=kitti_step.CATEGORIES),
    motchallenge_step=partial(step_layout, default=motchallenge_step.CATEGORIES),
    vspw=vspw_layout,
)


# ------------------------------------------------------------------------------ scoring
class FrameDecoder:
    """Reads one frame file in the accumulator's index space (category ``k`` of the sorted
    category ids -> ``k``, void -> 255).

    Returns ``(index, sem, inst)``. COCO-panoptic files give each pixel's segment position in
    ``segments_info`` as ``index`` and the labels per segment as ``sem`` / ``inst``, so a frame
    pair is counted on the small indices alone; the other formats give ``index=None`` and label
    maps."""

    def __init__(self, categories):
        ids = np.array(sorted(c['id'] for c in categories), dtype=np.int64)
        if ids.min() < 0:
            raise ValueError(f'category ids must be non-negative, got {ids.min()}')
        # lut[-1] (the last entry) maps void (-1) to 255; unknown ids also map to 255. Small
        # dtypes (the core takes any integer maps) halve the memory traffic of the gathers.
        self.lut = np.full(ids.max() + 2, VOID, dtype=np.uint8 if len(ids) < VOID else np.int64)
        self.lut[ids] = np.arange(len(ids))
        self.category_ids = set(ids.tolist())
        self.thing_ids = [c['id'] for c in categories if c['isthing']]

    def __call__(self, spec, ground_truth=False):
        kind, path = spec[:2]
        if kind == 'coco':
            # a GT segment listed but absent from its PNG is an FN for the official scripts
            index, table = index_segments(read_coco_panoptic_ids(path), spec[2], self.thing_ids,
                                          path, self.category_ids, allow_absent=ground_truth)
            table['sem'] = self.lut[table['category_id']]
            return index, table, None
        if kind == 'step':
            cat, inst = load_step(path)
        elif kind == 'vspw_gt':
            cat, inst = load_vspw(path)
        else:
            cat, inst = load_vspw_prediction(path)
        sem = self.lut[np.minimum(cat, len(self.lut) - 1)]
        unknown = (sem == VOID) & (cat >= 0)
        if unknown.any():
            raise FormatError(f'{path}: unknown category ids '
                              f'{np.unique(cat[unknown])[:10].tolist()}')
        return None, sem, inst


def new_accumulator(categories, panoptic, windows, compat):
    """The metric core's accumulator for the contiguous index space of ``categories``."""
    if not panoptic:
        return VideoSemSegAccumulator(len(categories), void=VOID)
    indexed = [dict(id=k, name=c['name'], isthing=int(c['isthing']))
               for k, c in enumerate(sorted(categories, key=lambda c: c['id']))]
    return VideoPanopticAccumulator(indexed, void=VOID, windows=windows,
                                    stq_vipseg_script_compat=compat)


def score_video(video, categories, panoptic, windows, compat):
    """Accumulate one video (run in a worker): decode each frame pair once and add it."""
    name, frames = video
    decode = FrameDecoder(categories)
    accumulator = new_accumulator(categories, panoptic, windows, compat)
    for gt_spec, pred_spec in frames:
        gt_index, gt_sem, gt_inst = decode(gt_spec, ground_truth=True)
        pred_index, pred_sem, pred_inst = decode(pred_spec)
        gt_shape, pred_shape = (sem.shape if index is None else index.shape
                                for index, sem in ((gt_index, gt_sem), (pred_index, pred_sem)))
        if gt_shape != pred_shape:
            raise FormatError(f'{pred_spec[1]}: prediction size {pred_shape} differs from the '
                              f'ground truth {gt_spec[1]} {gt_shape}')
        if gt_index is not None:  # both COCO-panoptic: count segment pairs on the indices
            add_coco_frame(accumulator, name, gt_spec, gt_index, gt_sem, pred_index, pred_sem)
        elif panoptic:
            accumulator.update(name, gt_sem, gt_inst, pred_sem, pred_inst)
        else:
            accumulator.update(name, gt_sem, pred_sem)
    accumulator.finish()
    return accumulator


def add_coco_frame(accumulator, name, gt_spec, gt_index, gt_table, pred_index, pred_table):
    """Count one COCO-panoptic frame pair on its segment indices and add it segment by segment,
    as the official scripts score it. A GT ``area`` must equal the PNG's pixel count (the
    scripts trust the JSON; a disagreeing file is refused rather than scored differently)."""
    num_gt, num_pred = len(gt_table['id']) - 2, len(pred_table['id']) - 2
    gt_pos, pred_pos, counts = count_index_pairs(gt_index, pred_index, num_gt + 2, num_pred + 2)
    gt_area = np.bincount(gt_pos, counts, minlength=num_gt + 2)[1:num_gt + 1].astype(np.int64)
    pred_area = np.bincount(pred_pos, counts, minlength=num_pred + 2)[1:num_pred + 1]
    for seg, area in zip(gt_spec[2], gt_area.tolist()):
        if seg.get('area') is not None and seg['area'] != area:
            raise FormatError(f'{gt_spec[1]}: segment {seg["id"]} has area {seg["area"]} in the '
                              f'JSON but {area} pixels in the PNG')
    # table position k + 1 is the k-th listed segment, the last position void (-1 here)
    gt_pos = np.where(gt_pos > num_gt, -1, gt_pos - 1)
    pred_pos = np.where(pred_pos > num_pred, -1, pred_pos - 1)
    inner = slice(1, -1)
    accumulator.update_segments(
        name, (gt_table['id'][inner], gt_table['sem'][inner], gt_table['iscrowd'][inner],
               gt_area),
        (pred_table['id'][inner], pred_table['sem'][inner], pred_area.astype(np.int64)),
        (gt_pos, pred_pos, counts))


class WorkerDied(RuntimeError):
    """A worker process of the scorer ended without returning its video."""


def available_cpus():
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def effective_workers(workers, num_videos):
    """``--workers`` capped at the number of videos and of usable CPUs."""
    return max(1, min(workers, num_videos, available_cpus()))


def evaluate(fmt, gt_root, pred_root, split='val', windows=None, workers=1, compat=False,
             categories=None, progress=True):
    """Score a submission; returns the JSON-ready result (fractions) and the windows used.
    ``categories`` (``dict(id, name, isthing)`` list) replaces the format's own list."""
    if fmt not in LAYOUTS:
        raise ValueError(f'unknown format {fmt!r}, expected one of {sorted(LAYOUTS)}')
    panoptic = fmt != 'vspw'
    if panoptic:
        windows = tuple(WINDOW_PRESETS[DEFAULT_WINDOWS[fmt]] if windows is None else windows)
    categories, videos = LAYOUTS[fmt](gt_root, pred_root, split, categories)
    total = new_accumulator(categories, panoptic, windows, compat)
    work = partial(score_video, categories=categories, panoptic=panoptic, windows=windows,
                   compat=compat)
    bar = tqdm(total=len(videos), desc=f'{fmt} videos', unit='video', disable=not progress,
               file=sys.stderr)
    workers = effective_workers(workers, len(videos))
    if workers > 1:
        # a pool whose worker dies (e.g. killed for memory) raises BrokenProcessPool instead of
        # waiting forever, as multiprocessing.Pool would
        with ProcessPoolExecutor(workers) as pool:
            try:
                for accumulator in pool.map(work, videos):
                    total.merge(accumulator)
                    bar.update()
            except BrokenProcessPool as err:
                raise WorkerDied(f'a scoring worker process died ({err}); no result was '
                                 f'written (out of memory? try fewer --workers)') from err
    else:
        for video in videos:
            total.merge(work(video))
            bar.update()
    bar.close()
    return to_json(total.compute(), categories, panoptic), windows


def to_json(results, categories, panoptic):
    """The scorer's JSON (fractions): the core's result, per-class entries named by category."""
    if not panoptic:
        names = [c['name'] for c in sorted(categories, key=lambda c: c['id'])]
        return dict(mIoU=results['mIoU'], mVC8=results['mVC8'], mVC16=results['mVC16'],
                    per_class={n: dict(IoU=v) for n, v in zip(names, results['per_class_IoU'])})
    return {k: results[k] for k in ('PQ', 'VPQ', 'STQ', 'AQ', 'IoU', 'per_class')}


def format_table(results):
    """Readable summary (x100)."""

    def pct(value):
        return f'{"-":>6s}' if value is None else f'{100 * value:6.2f}'

    lines = []
    if 'PQ' in results:
        lines.append(f'{"":12s} {"All":>6s} {"Things":>6s} {"Stuff":>6s}')
        rows = [('PQ', results['PQ'])] + [
            ('VPQ ' + ('mean' if k == 'mean' else k), v) for k, v in results['VPQ'].items()]
        for label, groups in rows:
            groups = groups or {}
            lines.append(f'{label:12s} ' + ' '.join(
                pct(groups.get(g)) for g in ('all', 'things', 'stuff')))
        lines.append('  '.join(f'{k} {pct(results[k]).strip()}' for k in ('STQ', 'AQ', 'IoU')))
    else:
        lines.append('  '.join(f'{k} {pct(results[k]).strip()}' for k in ('mIoU', 'mVC8', 'mVC16')))
    return '\n'.join(lines)


def window_sizes(text):
    """``--windows``: a preset name or comma-separated positive integers."""
    if text in WINDOW_PRESETS:
        return tuple(WINDOW_PRESETS[text])
    try:
        sizes = tuple(int(n) for n in text.split(','))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f'{text!r} is neither a preset ({", ".join(sorted(WINDOW_PRESETS))}) nor a list of '
            f'positive window sizes such as 1,2,4,6')
    return sizes


def positive_int(text):
    """``--workers``: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text!r} is not a positive integer')
    return value


def check_writable(path):
    """Why ``path`` cannot be written as the results file, or None (checked before scoring)."""
    path = osp.abspath(path)
    if osp.isdir(path):
        return f'{path} is a directory'
    parent = osp.dirname(path)
    while not osp.exists(parent):  # the folders os.makedirs would create
        parent = osp.dirname(parent)
    if not osp.isdir(parent):
        return f'{parent} is not a directory'
    if osp.exists(path) and not os.access(path, os.W_OK):
        return f'{path} is not writable'
    if not os.access(parent, os.W_OK | os.X_OK):
        return f'cannot create files in {parent}'
    return None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('format', choices=sorted(LAYOUTS))
    parser.add_argument('--gt-root', required=True)
    parser.add_argument('--pred-root', required=True)
    parser.add_argument('--split', default='val')
    parser.add_argument('--windows', type=window_sizes,
                        help='VPQ window sizes, e.g. 1,2,4,6, or a preset name '
                        f'({", ".join(sorted(WINDOW_PRESETS))}); default: the format\'s preset')
    parser.add_argument('--workers', type=positive_int, default=1,
                        help='worker processes (at most one per video and CPU)')
    parser.add_argument('--out', help='write the results (fractions) to this JSON file')
    parser.add_argument('--vipseg-stq-compat', action='store_true',
                        help="reproduce VIPSeg's eval_stq_vspw.py instance numbering")
    parser.add_argument('--categories', help='JSON file with a list of {"id", "name", '
                        '"isthing"} replacing the format\'s categories (GT JSON / mmvps list)')
    args = parser.parse_args(argv)
    if args.out is not None:
        problem = check_writable(args.out)
        if problem:
            parser.error(f'argument --out: {problem}')
    return args


def main(argv=None):
    args = parse_args(argv)
    categories = None
    if args.categories:
        categories = parse_categories(dict(categories=load_json(args.categories)),
                                      args.categories)
    results, windows = evaluate(args.format, args.gt_root, args.pred_root, args.split,
                                args.windows, args.workers, args.vipseg_stq_compat, categories)
    if windows is not None:
        presets = [k for k, v in WINDOW_PRESETS.items() if tuple(v) == tuple(windows)]
        print(f'VPQ windows {tuple(windows)}' + (f' (preset {presets[0]!r})' if presets else ''))
    print(format_table(results))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == '__main__':
    try:
        main()
    except (FormatError, WorkerDied) as err:
        sys.exit(f'eval_vps.py: error: {err}')

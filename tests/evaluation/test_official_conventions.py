"""Legal but unusual COCO-panoptic submissions, scored as the official scripts score them.

Each case is a tiny VIPSeg-layout submission (1-row frames) whose official numbers were worked
out by hand from panopticapi ``evaluation.py``, VIPSeg ``eval_vpq_vspw.py`` /
``eval_stq_vspw.py`` and Cityscapes-VPS ``eval_vpq.py`` (see each test). They run through the
offline scorer and, directly, through the core's ``update_segments``.
"""
import importlib.util
import json
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT

from mmvps.datasets.formats import (FormatError, dump_json, id2rgb, vipseg_panoptic_json,
                                    vipseg_pred_json, write_png)
from mmvps.evaluation.functional import VideoPanopticAccumulator

spec = importlib.util.spec_from_file_location(
    'eval_vps', REPO_ROOT / 'tools' / 'analysis_tools' / 'eval_vps.py')
eval_vps = importlib.util.module_from_spec(spec)
sys.modules.setdefault('eval_vps', eval_vps)
spec.loader.exec_module(eval_vps)

CATEGORIES = [dict(id=0, name='sky', isthing=0), dict(id=1, name='road', isthing=0),
              dict(id=2, name='car', isthing=1), dict(id=3, name='person', isthing=1)]
SKY, ROAD, CAR, PERSON = 0, 1, 2, 3


def seg(sid, cat, area=None, crowd=0):
    info = dict(id=sid, category_id=cat, iscrowd=crowd)
    if area is not None:
        info['area'] = area
    return info


def write_submission(root, frames, video='v0'):
    """``frames``: ``[(gt ids, gt segments_info, pred ids, pred segments_info)]`` of one video,
    ids as lists (one row of pixels). Returns the GT and prediction roots."""
    gt_root, pred_root = root / 'gt', root / 'pred'
    gt_frames, pred_frames = [], []
    for t, (gt_ids, gt_info, pred_ids, pred_info) in enumerate(frames):
        stem = f'{t:08d}'
        write_png(gt_root / 'panomasksRGB' / video / f'{stem}.png', id2rgb([gt_ids]))
        write_png(pred_root / 'pan_pred' / video / f'{stem}.png', id2rgb([pred_ids]))
        gt_frames.append(dict(stem=stem, height=1, width=len(gt_ids), segments_info=gt_info))
        pred_frames.append(dict(stem=stem, segments_info=pred_info))
    dump_json(gt_root / 'panoptic_gt_VIPSeg_val.json',
              vipseg_panoptic_json([dict(video_id=video, frames=gt_frames)], CATEGORIES))
    dump_json(pred_root / 'pred.json', vipseg_pred_json([dict(video_id=video,
                                                              frames=pred_frames)]))
    return gt_root, pred_root


def score(root, frames, **kwargs):
    gt_root, pred_root = write_submission(root, frames)
    return eval_vps.evaluate('vipseg', str(gt_root), str(pred_root), progress=False,
                             **kwargs)[0]


def core(frames, windows=(1, ), compat=False):
    """The same frames straight through ``VideoPanopticAccumulator.update_segments``."""
    acc = VideoPanopticAccumulator(CATEGORIES, windows=windows, stq_vipseg_script_compat=compat)
    for gt_ids, gt_info, pred_ids, pred_info in frames:
        gt_ids, pred_ids = np.asarray(gt_ids), np.asarray(pred_ids)
        gt_list, pred_list = [s['id'] for s in gt_info], [s['id'] for s in pred_info]
        gt_pos = np.array([gt_list.index(i) if i else -1 for i in gt_ids])
        pred_pos = np.array([pred_list.index(i) if i else -1 for i in pred_ids])
        pairs, counts = np.unique(np.stack([gt_pos, pred_pos]), axis=1, return_counts=True)
        acc.update_segments(
            'v0', ([s['id'] for s in gt_info], [s['category_id'] for s in gt_info],
                   [bool(s['iscrowd']) for s in gt_info],
                   [int((gt_ids == i).sum()) for i in gt_list]),
            (pred_list, [s['category_id'] for s in pred_info],
             [int((pred_ids == i).sum()) for i in pred_list]), (pairs[0], pairs[1], counts))
    return acc.compute()


def check(result, pq, vpq=None, **stq):
    """``pq`` / ``vpq[n]``: ``(all, things, stuff)``; ``stq``: expected STQ / AQ / IoU."""

    def groups(got, exp):
        assert [got[g] for g in ('all', 'things', 'stuff')] == pytest.approx(exp, abs=1e-12)

    groups(result['PQ'], pq)
    for n, exp in (vpq or {}).items():
        groups(result['VPQ'][n], exp)
    for key, value in stq.items():
        assert result[key] == pytest.approx(value, abs=1e-12)


def both(tmp_path, frames, pq, vpq=None, windows=(1, ), compat=False, **stq):
    check(score(tmp_path, frames, windows=windows, compat=compat), pq, vpq, **stq)
    check(core(frames, windows, compat), pq, vpq, **stq)


def test_two_predicted_segments_of_one_stuff_class(tmp_path):
    # GT sky (id 1) covers 10 pixels; the prediction splits it into sky 1 (8 px) and sky 2
    # (2 px). panopticapi: (1, 1) IoU 8/10 = 0.8 > 0.5 -> TP; sky 2 is unmatched and has no
    # void / crowd overlap -> FP. Sky PQ = 0.8 / (1 + 0.5 * 1) = 0.533..; no thing class.
    frames = [([1] * 10, [seg(1, SKY)], [1] * 8 + [2] * 2, [seg(1, SKY), seg(2, SKY)])]
    both(tmp_path, frames, (0.8 / 1.5, None, 0.8 / 1.5))


def test_two_ground_truth_segments_of_one_stuff_class(tmp_path):
    # GT sky 1 (6 px) and sky 2 (4 px), one predicted sky segment over all 10 px:
    # (1, 1) IoU 6/10 -> TP 0.6; (2, 1) 4/10 -> no match; GT 2 -> FN. PQ = 0.6 / 1.5 = 0.4.
    frames = [([1] * 6 + [2] * 4, [seg(1, SKY), seg(2, SKY)], [5] * 10, [seg(5, SKY)])]
    both(tmp_path, frames, (0.4, None, 0.4))


def test_prediction_iscrowd_is_ignored(tmp_path):
    # Two GT cars (ids 10, 11, 5 px each); the prediction gives each exactly, flagged iscrowd.
    # panopticapi and both VPQ scripts never read a prediction's iscrowd: 2 TP of IoU 1, PQ 1.
    # eval_stq_vspw.py numbers predicted segments 0, 1 by listing order (crowd flag unread):
    # AQ = 1/2 (1/5 * 5 * 1 + 1/5 * 5 * 1) = 1; IoU: car only, 10/10 = 1; STQ = 1.
    frames = [([10] * 5 + [11] * 5, [seg(10, CAR), seg(11, CAR)], [5] * 5 + [6] * 5,
               [seg(5, CAR, crowd=1), seg(6, CAR, crowd=1)])]
    both(tmp_path, frames, (1.0, 1.0, None), STQ=1.0, AQ=1.0, IoU=1.0)
    both(tmp_path, frames, (1.0, 1.0, None), compat=True, STQ=1.0, AQ=1.0, IoU=1.0)


@pytest.mark.parametrize('order,excused', [((20, 21), False), ((21, 20), True)])
def test_only_the_last_listed_crowd_segment_excuses(tmp_path, order, excused):
    # GT: car crowd 20 (4 px), car crowd 21 (2 px), sky 1 (4 px); predicted car 7 over both
    # crowd regions (6 px) and sky 1 exact. The scripts keep one crowd id per category (a dict
    # filled in listing order, so the last listed wins). Listed 20, 21: 21 counts, 2/6 <= 0.5
    # -> car FP: car PQ 0, sky 1 -> All 0.5, Things 0, Stuff 1. Listed 21, 20: 20 counts,
    # 4/6 > 0.5 -> excused: only sky -> All 1, Things absent, Stuff 1.
    crowd = {20: seg(20, CAR, crowd=1), 21: seg(21, CAR, crowd=1)}
    frames = [([20] * 4 + [21] * 2 + [1] * 4, [seg(1, SKY)] + [crowd[i] for i in order],
               [7] * 6 + [1] * 4, [seg(1, SKY), seg(7, CAR)])]
    both(tmp_path, frames, (1.0, None, 1.0) if excused else (0.5, 0.0, 1.0))


def test_ground_truth_crowd_of_a_stuff_class(tmp_path):
    # GT road 2 flagged iscrowd (3 px), sky 1 (7 px); prediction: road 4 (3 px), sky 1 (7 px).
    # The scripts skip crowd GT of any category in matching and FN, and excuse road 4 by its
    # overlap with that crowd (3/3): only sky counts -> PQ 1 (All, Stuff).
    frames = [([2] * 3 + [1] * 7, [seg(1, SKY), seg(2, ROAD, crowd=1)], [4] * 3 + [1] * 7,
               [seg(1, SKY), seg(4, ROAD)])]
    both(tmp_path, frames, (1.0, None, 1.0))


def test_listed_segment_of_area_zero_and_its_tube_category(tmp_path):
    # Frame 0: GT sky 1 (10 px) and id 30 listed as person with area 0 (not in the PNG);
    # frame 1: GT sky 1 (7 px), id 30 as car (3 px). Predictions: sky 1 exact, car 40 = id 30.
    # n=1: frame 0 sky TP 1, person 30 FN; frame 1 sky TP 1, car (30, 40) TP 1 -> sky 1,
    #   person 0, car 1: All 2/3, Things 1/2, Stuff 1.
    # n=2: tube 30 takes the category of its first listing (person, area 0 + 3); pred tube 40
    #   is a car -> no candidate: person FN, car FP, sky TP -> All 1/3, Things 0, Stuff 1.
    frames = [([1] * 10, [seg(1, SKY), seg(30, PERSON, area=0)], [1] * 10, [seg(1, SKY)]),
              ([1] * 7 + [30] * 3, [seg(1, SKY), seg(30, CAR)], [1] * 7 + [40] * 3,
               [seg(1, SKY), seg(40, CAR)])]
    both(tmp_path, frames, (2 / 3, 0.5, 1.0),
         {'n=1': (2 / 3, 0.5, 1.0), 'n=2': (1 / 3, 0.0, 1.0), 'mean': (0.5, 0.25, 1.0)},
         windows=(1, 2))


@pytest.mark.parametrize('thing_first', [False, True])
def test_vipseg_stq_script_numbers_segments_in_listing_order(tmp_path, thing_first):
    # GT car 10 (5 px) and sky 1 (5 px), predicted exactly. eval_stq_vspw.py gives the first
    # listed id instance 0, which deeplab2 treats as crowd on a thing class. Listed car first:
    # no GT tube -> AQ 0, IoU (car 1, sky 1) = 1, STQ 0. Listed sky first: car is track 1,
    # AQ 1, STQ 1. deeplab2 (default) reads iscrowd = 0: AQ 1 either way.
    gt_info = [seg(10, CAR), seg(1, SKY)] if thing_first else [seg(1, SKY), seg(10, CAR)]
    frames = [([10] * 5 + [1] * 5, gt_info, [5] * 5 + [1] * 5, [seg(1, SKY), seg(5, CAR)])]
    aq = 0.0 if thing_first else 1.0
    both(tmp_path, frames, (1.0, 1.0, 1.0), compat=True, AQ=aq, IoU=1.0, STQ=aq)
    both(tmp_path, frames, (1.0, 1.0, 1.0), AQ=1.0, IoU=1.0, STQ=1.0)


def test_ground_truth_area_must_match_the_png(tmp_path):
    frames = [([1] * 10, [seg(1, SKY, area=9)], [1] * 10, [seg(1, SKY)])]
    with pytest.raises(FormatError, match=r'panomasksRGB/v0/00000000.png: segment 1 has area 9 '
                       'in the JSON but 10 pixels'):
        score(tmp_path, frames)


def test_prediction_listing_an_id_absent_from_its_png(tmp_path):
    # panopticapi / the VPQ scripts raise KeyError for this; so does the scorer, naming the PNG
    frames = [([1] * 10, [seg(1, SKY)], [1] * 10, [seg(1, SKY), seg(9, CAR)])]
    with pytest.raises(FormatError, match=r'pan_pred/v0/00000000.png: segments_info lists ids '
                       r'\[9\] that the PNG does not contain'):
        score(tmp_path, frames)


@pytest.mark.parametrize('value', [2.7, True, '2', None])
def test_non_integer_category_id(tmp_path, value):
    frames = [([1] * 10, [seg(1, SKY)], [1] * 10, [seg(1, value)])]
    with pytest.raises(FormatError, match=r'pan_pred/v0/00000000.png: segments_info entry .* '
                       'lacks an integer id or category_id'):
        score(tmp_path, frames)


def test_null_fields_name_the_file(tmp_path):
    frames = [([1] * 10, [seg(1, SKY)], [1] * 10, [seg(1, SKY)])]
    gt_root, pred_root = write_submission(tmp_path, frames)
    data = json.loads((pred_root / 'pred.json').read_text())
    data['annotations'][0]['annotations'][0]['segments_info'] = None
    (pred_root / 'pred.json').write_text(json.dumps(data))
    with pytest.raises(FormatError, match=r'pred.json: each frame annotation has '
                       r'segments_info=None \(a list expected\)'):
        eval_vps.evaluate('vipseg', str(gt_root), str(pred_root), progress=False)
    gt_json = gt_root / 'panoptic_gt_VIPSeg_val.json'
    data = json.loads(gt_json.read_text())
    data['videos'][0]['images'][0]['height'] = None
    gt_json.write_text(json.dumps(data))
    with pytest.raises(FormatError, match=r'panoptic_gt_VIPSeg_val.json: each image has '
                       r'height=None \(an integer expected\)'):
        eval_vps.evaluate('vipseg', str(gt_root), str(pred_root), progress=False)


def test_void_is_left_out_of_the_union_and_excuses(tmp_path):
    # GT sky 1 (6 px) then void (4 px); predicted sky 1 over 8 px, car 7 over the last 2.
    # Sky IoU = 6 / (8 + 6 - 6 - 2 on void) = 1 -> TP; car 7 lies on void (2/2 > 0.5): no FP.
    frames = [([1] * 6 + [0] * 4, [seg(1, SKY)], [1] * 8 + [7] * 2,
               [seg(1, SKY), seg(7, CAR)])]
    both(tmp_path, frames, (1.0, None, 1.0))


def test_crowd_overlap_of_exactly_half_does_not_excuse(tmp_path):
    # GT car crowd 20 (2 px), sky 1 (8 px); predicted car 7 (4 px: 2 on crowd, 2 on sky), sky 1
    # (6 px). Sky IoU 6 / (6 + 8 - 6) = 0.75 -> TP; car 7: 2/4 = 0.5 is not > 0.5 -> FP.
    # Sky 0.75, car 0 -> All 0.375, Things 0, Stuff 0.75 (test_metrics.py: same via label maps)
    frames = [([20] * 2 + [1] * 8, [seg(1, SKY), seg(20, CAR, crowd=1)], [7] * 4 + [1] * 6,
               [seg(1, SKY), seg(7, CAR)])]
    both(tmp_path, frames, (0.375, 0.0, 0.75))

"""The metric core against the official tools' numbers on every metric fixture case.

Every non-null number of each case's ``expected.json`` must be reproduced to 1e-9, every null
(``not_available``) must come out as None, and the per-class / per-window counts must equal
``reference_outputs.json``.
"""
from functools import lru_cache

import numpy as np
import pytest
from metric_cases import case_names, expected, frames, load_case, reference

from mmvps.evaluation.functional import (WINDOW_PRESETS, VideoPanopticAccumulator,
                                         VideoSemSegAccumulator)

TOL = 1e-9
CASES = case_names()


@lru_cache(maxsize=None)
def _run_panoptic(name, windows, with_stq, compat):
    categories, void, videos = load_case(name)
    acc = VideoPanopticAccumulator(categories, void, windows, with_stq=with_stq,
                                   stq_vipseg_script_compat=compat)
    for frame in frames(videos):
        acc.update(*frame)
    return acc.compute()


def run_panoptic(name, windows, with_stq=True, stq_vipseg_script_compat=False):
    return _run_panoptic(name, tuple(windows), with_stq, stq_vipseg_script_compat)


@lru_cache(maxsize=None)
def run_semseg(name, vc_include_last_window=False):
    categories, void, videos = load_case(name)
    acc = VideoSemSegAccumulator(len(categories), void,
                                 vc_include_last_window=vc_include_last_window)
    for video, gt_sem, _, pred_sem, _ in frames(videos):
        acc.update(video, gt_sem, pred_sem)
    return acc.compute()


def assert_matches(got, want, path):
    """``got`` equals ``want`` to TOL; a None in ``want`` must be None in ``got``."""
    if want is None:
        assert got is None, f'{path}: expected None (not available), got {got}'
    elif isinstance(want, dict):
        assert got is not None, f'{path}: got None, expected {want}'
        for key, value in want.items():
            assert_matches(got.get(key), value, f'{path}.{key}')
    else:
        assert got is not None, f'{path}: got None, expected {want}'
        assert abs(got - want) < TOL, f'{path}: got {got!r}, expected {want!r}'


def test_case_list_is_complete():
    assert len(CASES) == 13 and CASES[0] == '01_perfect'


@pytest.mark.parametrize('name', CASES)
def test_image_pq_and_cityscapes_vps(name):
    metrics = expected(name)['metrics']
    result = run_panoptic(name, WINDOW_PRESETS['cityscapes_vps'], with_stq=False)
    assert_matches(result['PQ'], metrics['pq'], 'pq')
    assert_matches(result['VPQ'], metrics['vpq_cityscapes_vps'], 'vpq_cityscapes_vps')
    assert 'STQ' not in result and 'per_video' not in result

    ref = reference(name)
    summary = ref['pq_panopticapi']['summary']
    for key, ref_key in (('SQ', 'sq'), ('RQ', 'rq')):
        for group, ref_group in (('all', 'All'), ('things', 'Things'), ('stuff', 'Stuff')):
            want = summary[ref_group] and summary[ref_group][ref_key]
            assert_matches(result[key][group], want, f'{key}.{group}')


@pytest.mark.parametrize('name', CASES)
def test_vipseg_vpq_both_means(name):
    metrics = expected(name)['metrics']['vpq_vipseg']
    official = run_panoptic(name, WINDOW_PRESETS['vipseg_official'], with_stq=False)['VPQ']
    paper = run_panoptic(name, WINDOW_PRESETS['vipseg'], with_stq=False)['VPQ']
    for n in (1, 2, 4, 6, 8):
        assert_matches(official[f'n={n}'], metrics[f'n={n}'], f'vpq_vipseg.n={n}')
    assert_matches(official['mean'], metrics['mean_1_2_4_6_8'], 'mean_1_2_4_6_8')
    assert_matches(paper['mean'], metrics['mean_1_2_4_6'], 'mean_1_2_4_6')
    assert set(paper) == {'n=1', 'n=2', 'n=4', 'n=6', 'mean'}


@pytest.mark.parametrize('name', CASES)
def test_per_class_counts_equal_the_references(name):
    """TP / FP / FN / IoU sum of every class for every window size (Cityscapes-VPS n = 1..4,
    VIPSeg n = 1, 2, 4, 6, 8 where the reference ran) and image PQ."""
    ref = reference(name)
    categories = load_case(name)[0]
    tables = [('PQ', ref['pq_panopticapi']['per_class'])]
    for key in ('vpq_cityscapes', 'vpq_vipseg'):
        for nframes, out in ref[key]['per_nframes'].items():
            if out.get('per_class'):
                tables.append((f'VPQ@n={nframes.split("=")[1]}', out['per_class']))
    windows = sorted({int(col.split('=')[1]) for col, _ in tables if col != 'PQ'})
    table = run_panoptic(name, windows, with_stq=False)['per_class']
    assert len(tables) > 1
    for column, per_class in tables:
        suffix = '' if column == 'PQ' else '@' + column.split('@')[1]
        for category in categories:
            want, row = per_class[str(category['id'])], table[category['name']]
            where = f'{column} {category["name"]}'
            assert (row['TP' + suffix], row['FP' + suffix], row['FN' + suffix]) == (
                want['tp'], want['fp'], want['fn']), where
            counted = want['tp'] + want['fp'] + want['fn'] > 0
            pq = row[column]
            if counted:
                assert abs(pq * (want['tp'] + 0.5 * (want['fp'] + want['fn'])) -
                           want['iou']) < TOL, where
            else:
                assert pq is None, where


@pytest.mark.parametrize('name', CASES)
def test_stq_deeplab2(name):
    metrics = expected(name)['metrics']['stq']
    result = run_panoptic(name, (1, ))
    for key in ('STQ', 'AQ', 'IoU'):
        assert_matches(result[key], metrics[key], f'stq.{key}')
    assert list(result['per_video']) == sorted(metrics['per_video'])
    assert_matches(result['per_video'], metrics['per_video'], 'stq.per_video')


@pytest.mark.parametrize('name', CASES)
def test_stq_vipseg_script_compat(name):
    metrics = expected(name)['metrics']['stq_vipseg_script']
    result = run_panoptic(name, (1, ), stq_vipseg_script_compat=True)
    assert_matches({k: result[k] for k in metrics}, metrics, 'stq_vipseg_script')
    # the script prints its per-sequence values with 8 decimals
    printed = reference(name)['stq_vipseg']['stdout_per_seq']
    videos = list(load_case(name)[2])
    for key in ('STQ', 'AQ'):
        values = np.array(printed[f'{key}_per_seq'].strip('[]').split(), float)
        got = [result['per_video'][video][key] for video in videos]
        np.testing.assert_allclose(got, values, rtol=0, atol=5.1e-9, err_msg=key)


def test_compat_differs_where_the_references_disagree():
    for name in ('05_crowd', '13_thing_listed_first'):
        canonical = run_panoptic(name, (1, ))['AQ']
        script = run_panoptic(name, (1, ), stq_vipseg_script_compat=True)['AQ']
        assert script != pytest.approx(canonical, abs=1e-3)


@pytest.mark.parametrize('name', CASES)
def test_vspw_miou_and_mvc(name):
    metrics = expected(name)['metrics']
    result = run_semseg(name)
    assert_matches(result['mIoU'], metrics['vspw_miou'] and metrics['vspw_miou']['mIoU'], 'mIoU')
    assert_matches(result['mVC8'], metrics['vspw_mvc']['mVC8'], 'mVC8')
    assert_matches(result['mVC16'], metrics['vspw_mvc']['mVC16'], 'mVC16')
    assert len(result['per_class_IoU']) == len(load_case(name)[0])
    if result['mIoU'] is not None:
        present = [v for v in result['per_class_IoU'] if v is not None]
        assert abs(np.mean(present) - result['mIoU']) < 1e-12


def test_vc_last_window_option_counts_one_more_window_per_video():
    """Case 10: the 18-frame video has 11 windows of 8 with the last one (10 without)."""
    default = run_semseg('10_varlen')
    with_last = run_semseg('10_varlen', vc_include_last_window=True)
    assert with_last['mVC8'] != default['mVC8'] and with_last['mIoU'] == default['mIoU']
    # the 16-frame window that only the option adds exists (len18 has 3 instead of 2)
    assert with_last['mVC16'] is not None


@pytest.mark.parametrize('name', CASES)
def test_not_available_numbers_are_none(name):
    """Every entry of ``not_available`` is None (or absent) in the core's output."""
    case = expected(name)
    panoptic = {
        'pq': run_panoptic(name, (1, ), with_stq=False)['PQ'],
        'vpq_cityscapes_vps': run_panoptic(name, WINDOW_PRESETS['cityscapes_vps'])['VPQ'],
    }
    vipseg = run_panoptic(name, WINDOW_PRESETS['vipseg_official'], with_stq=False)['VPQ']
    panoptic['vpq_vipseg'] = dict(vipseg, mean_1_2_4_6_8=vipseg['mean'], mean_1_2_4_6=run_panoptic(
        name, WINDOW_PRESETS['vipseg'], with_stq=False)['VPQ']['mean'])
    semseg = run_semseg(name)
    panoptic['vspw_miou'] = None if semseg['mIoU'] is None else {'mIoU': semseg['mIoU']}
    panoptic['vspw_mvc'] = semseg
    for path in case['not_available']:
        value = panoptic
        for key in path.split('.'):
            value = None if value is None else value.get(key)
        assert value is None, f'{name}: {path} should be None, got {value}'

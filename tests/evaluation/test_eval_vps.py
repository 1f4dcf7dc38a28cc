"""The offline scorer on the metric fixtures written in the official formats: ground truth with
the format writers, predictions with the metrics' submission exporters (``format_only``)."""
import importlib.util
import json
import shutil
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT
from metric_cases import case_names, expected, load_case
from test_metrics import TOL, frame_stem, label_space, run_metric, video_samples

from mmvps.datasets.formats import (FormatError, cityscapes_vps_panoptic_json, dump_json,
                                    read_png, vipseg_panoptic_json, write_coco_panoptic,
                                    write_png, write_step, write_vspw)
from mmvps.evaluation import VideoPanopticMetric, VideoSemSegMetric
from mmvps.structures.panoptic import IGNORE_INDEX

spec = importlib.util.spec_from_file_location(
    'eval_vps', REPO_ROOT / 'tools' / 'analysis_tools' / 'eval_vps.py')
eval_vps = importlib.util.module_from_spec(spec)
sys.modules['eval_vps'] = eval_vps  # worker processes pickle its functions by module name
spec.loader.exec_module(eval_vps)

CASES = case_names()
SIX_FRAME_CASES = [c for c in CASES
                   if all(maps[0].shape[0] == 6 for maps in load_case(c)[2].values())]


def official(sem):
    """Fixture semantic map -> official category ids (void -1)."""
    return np.where(sem == IGNORE_INDEX, -1, sem).astype(np.int64)


def cityscapes_name(video_index, frame_index, t):
    return f'{video_index + 1:04d}_{frame_index + 1:04d}_frankfurt_000000_{t:06d}_newImg8bit.png'


def write_ground_truth(fmt, case, root):
    """Write a case's ground truth in ``fmt``'s official layout under ``root``."""
    categories, _, videos = load_case(case)
    thing_ids = [c['id'] for c in categories if c['isthing']]
    gt_videos, city_frames = [], []
    for v, (video, (gt_sem, gt_inst, _, _)) in enumerate(videos.items()):
        frames = []
        for t in range(len(gt_sem)):
            cat, inst = official(gt_sem[t]), gt_inst[t].astype(np.int64)
            if fmt == 'vipseg':
                info = write_coco_panoptic(root / 'panomasksRGB' / video / f'{frame_stem(t)}.png',
                                           cat, inst, thing_ids)
                frames.append(dict(stem=frame_stem(t), height=cat.shape[0], width=cat.shape[1],
                                   segments_info=info))
            elif fmt == 'cityscapes_vps':
                name = cityscapes_name(v, len(city_frames), t)
                info = write_coco_panoptic(
                    root / 'panoptic_video' / name.replace('newImg8bit', 'final_mask'), cat, inst,
                    thing_ids)
                city_frames.append(dict(file_name=name, height=cat.shape[0], width=cat.shape[1],
                                        segments_info=info))
            elif fmt == 'kitti_step':
                write_step(root / 'panoptic_maps' / 'val' / video / f'{t:06d}.png', cat, inst)
            else:
                write_vspw(root / 'data' / video / 'mask' / f'{frame_stem(t)}.png', cat)
        gt_videos.append(dict(video_id=video, frames=frames))
    if fmt == 'vipseg':
        dump_json(root / 'panoptic_gt_VIPSeg_val.json', vipseg_panoptic_json(gt_videos, categories))
    elif fmt == 'cityscapes_vps':
        dump_json(root / 'panoptic_gt_val_city_vps.json',
                  cityscapes_vps_panoptic_json(city_frames, categories))
    elif fmt == 'vspw':
        (root / 'val.txt').write_text(''.join(f'{video}\n' for video in videos))
    dump_json(root / 'categories.json', categories)
    return categories


def export_predictions(fmt, case, root):
    """Write a case's predictions with the metric in ``format_only`` mode."""
    categories, _, videos = load_case(case)
    meta, lut = label_space(categories)
    samples = video_samples(videos, lut)
    if fmt == 'cityscapes_vps':
        index = 0
        for v, frames in enumerate(samples):
            for t, frame in enumerate(frames):
                frame.set_metainfo(dict(img_path=f'val/img/{cityscapes_name(v, index, t)}'))
                index += 1
    if fmt == 'kitti_step':
        for frames in samples:
            for t, frame in enumerate(frames):
                frame.set_metainfo(dict(frame_name=f'{t:06d}'))
    metric_type = VideoSemSegMetric if fmt == 'vspw' else VideoPanopticMetric
    metric = metric_type(format_only=True, outfile_prefix=str(root), submission_format=fmt)
    assert run_metric(metric, meta, [[f] for frames in samples for f in frames]) == {}


def write_case(fmt, case, tmp_path):
    gt_root, pred_root = tmp_path / 'gt', tmp_path / 'pred'
    categories = write_ground_truth(fmt, case, gt_root)
    export_predictions(fmt, case, pred_root)
    return gt_root, pred_root, categories


def score(fmt, gt_root, pred_root, categories=None, **kwargs):
    return eval_vps.evaluate(fmt, str(gt_root), str(pred_root), categories=categories,
                             progress=False, **kwargs)[0]


def assert_groups(got, exp):
    for group in ('all', 'things', 'stuff'):
        if exp is None or exp[group] is None:
            assert got is None or got[group] is None
        else:
            assert got[group] == pytest.approx(exp[group], abs=TOL)


def assert_results(got, exp, vpq_key, sizes, mean_key, stq_key='stq'):
    assert_groups(got['PQ'], exp['pq'])
    for n in sizes:
        assert_groups(got['VPQ'][f'n={n}'], exp[vpq_key][f'n={n}'])
    assert_groups(got['VPQ']['mean'], exp[vpq_key][mean_key])
    for key in ('STQ', 'AQ', 'IoU'):
        assert got[key] == pytest.approx(exp[stq_key][key], abs=TOL)


# ------------------------------------------------------------------------------ fixtures
@pytest.mark.parametrize('case', CASES)
def test_vipseg_format(case, tmp_path):
    gt_root, pred_root, _ = write_case('vipseg', case, tmp_path)
    exp = expected(case)['metrics']
    got = score('vipseg', gt_root, pred_root, windows=(1, 2, 4, 6, 8))
    assert_results(got, exp, 'vpq_vipseg', (1, 2, 4, 6, 8), 'mean_1_2_4_6_8')
    got = score('vipseg', gt_root, pred_root, compat=True)  # default: the paper's 1, 2, 4, 6
    assert_results(got, exp, 'vpq_vipseg', (1, 2, 4, 6), 'mean_1_2_4_6', 'stq_vipseg_script')


@pytest.mark.parametrize('case', SIX_FRAME_CASES)
def test_cityscapes_vps_format(case, tmp_path):
    gt_root, pred_root, _ = write_case('cityscapes_vps', case, tmp_path)
    got = score('cityscapes_vps', gt_root, pred_root)  # default: n = 1..4
    assert_results(got, expected(case)['metrics'], 'vpq_cityscapes_vps', (1, 2, 3, 4), 'mean')


@pytest.mark.parametrize('case', CASES)
def test_step_format(case, tmp_path):
    gt_root, pred_root, categories = write_case('kitti_step', case, tmp_path)
    got = score('kitti_step', gt_root, pred_root, categories)
    assert_results(got, expected(case)['metrics'], 'vpq_cityscapes_vps', (1, 2, 3, 4), 'mean')


@pytest.mark.parametrize('case', CASES)
def test_vspw_format(case, tmp_path):
    gt_root, pred_root, categories = write_case('vspw', case, tmp_path)
    got = score('vspw', gt_root, pred_root, categories)
    exp = expected(case)['metrics']
    values = dict(mIoU=(exp['vspw_miou'] or {}).get('mIoU'), **exp['vspw_mvc'])
    for key, value in values.items():
        assert got[key] == pytest.approx(value, abs=TOL) if value is not None else (
            got[key] is None)


def test_command_line_with_workers(tmp_path, capsys):
    case = '10_varlen'
    gt_root, pred_root, _ = write_case('vipseg', case, tmp_path)
    out = tmp_path / 'results.json'
    eval_vps.main(['vipseg', '--gt-root', str(gt_root), '--pred-root', str(pred_root),
                   '--windows', 'vipseg_official', '--workers', '2', '--out', str(out)])
    printed = capsys.readouterr().out
    assert "VPQ windows (1, 2, 4, 6, 8) (preset 'vipseg_official')" in printed
    exp = expected(case)['metrics']
    assert f'{100 * exp["pq"]["all"]:6.2f}' in printed
    got = json.loads(out.read_text())
    assert set(got) == {'PQ', 'VPQ', 'STQ', 'AQ', 'IoU', 'per_class'}
    assert list(got['VPQ']) == ['n=1', 'n=2', 'n=4', 'n=6', 'n=8', 'mean']
    assert_results(got, exp, 'vpq_vipseg', (1, 2, 4, 6, 8), 'mean_1_2_4_6_8')
    assert set(got['per_class']) == {c['name'] for c in load_case(case)[0]}


# ------------------------------------------------------------------------------ bad input
@pytest.fixture
def vipseg_case(tmp_path):
    gt_root, pred_root, _ = write_case('vipseg', '02_id_switch', tmp_path)
    return gt_root, pred_root


def _edit_pred_json(pred_root, edit):
    data = json.loads((pred_root / 'pred.json').read_text())
    edit(data)
    (pred_root / 'pred.json').write_text(json.dumps(data))


def test_missing_and_extra_predictions(vipseg_case):
    gt_root, pred_root = vipseg_case
    frame = pred_root / 'pan_pred' / 'idsw0' / f'{frame_stem(3)}.png'
    shutil.copy(frame, frame.with_name('99999999.png'))
    with pytest.raises(FormatError, match=r'pan_pred/idsw0: frame PNGs \[\'99999999.png\'\] are '
                       'not in the ground truth'):
        score('vipseg', gt_root, pred_root)
    frame.with_name('99999999.png').unlink()
    frame.unlink()
    with pytest.raises(FormatError, match=r"pan_pred/idsw0: missing frame PNGs \['00000175.png'\]"):
        score('vipseg', gt_root, pred_root)
    _edit_pred_json(pred_root, lambda d: d['annotations'][0]['annotations'].pop())
    with pytest.raises(FormatError, match=r"pred.json \(video idsw0\): missing frames "
                       r"\['00000187.png'\]"):
        score('vipseg', gt_root, pred_root)
    _edit_pred_json(pred_root, lambda d: d['annotations'].pop())
    with pytest.raises(FormatError, match=r"pred.json: missing videos \['idsw1'\]"):
        score('vipseg', gt_root, pred_root)


def test_pred_json_errors(vipseg_case):
    gt_root, pred_root = vipseg_case
    _edit_pred_json(pred_root, lambda d: d['annotations'][1]['annotations'][2]['segments_info']
                    .pop())
    with pytest.raises(FormatError, match=r'pan_pred/idsw1/00000172.png: segment ids \[\d+\] in '
                       'the PNG are not listed'):
        score('vipseg', gt_root, pred_root)


def test_unknown_category(vipseg_case):
    gt_root, pred_root = vipseg_case

    def edit(data):
        data['annotations'][0]['annotations'][0]['segments_info'][0]['category_id'] = 99

    _edit_pred_json(pred_root, edit)
    with pytest.raises(FormatError, match=r'pan_pred/idsw0/00000166.png: segment \d+ has unknown '
                       'category_id 99'):
        score('vipseg', gt_root, pred_root)


def test_size_mismatch_and_unreadable(vipseg_case):
    gt_root, pred_root = vipseg_case
    frame = pred_root / 'pan_pred' / 'idsw1' / f'{frame_stem(1)}.png'
    original = frame.read_bytes()
    write_png(frame, read_png(frame, 'rgb')[:, :31])  # one column less, same segments
    with pytest.raises(FormatError, match=r'idsw1/00000169.png: prediction size \(24, 31\) '
                       r'differs from the ground truth .*idsw1/00000169.png \(24, 32\)'):
        score('vipseg', gt_root, pred_root)
    frame.write_bytes(original[:50])
    with pytest.raises(FormatError, match='idsw1/00000169.png: unreadable or corrupt PNG'):
        score('vipseg', gt_root, pred_root, workers=2)


def test_step_and_vspw_errors(tmp_path):
    gt_root, pred_root, categories = write_case('kitti_step', '01_perfect', tmp_path / 'step')
    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[0, 0, 0] = 200
    write_png(pred_root / 'perfect1' / '000004.png', rgb)
    with pytest.raises(FormatError, match=r'perfect1/000004.png: unknown category ids \[200\]'):
        score('kitti_step', gt_root, pred_root, categories)
    shutil.rmtree(pred_root / 'perfect0')
    with pytest.raises(FormatError, match=r"pred: missing sequence folders \['perfect0'\]"):
        score('kitti_step', gt_root, pred_root, categories)
    gt_root, pred_root, categories = write_case('vspw', '01_perfect', tmp_path / 'vspw')
    (gt_root / 'val.txt').write_text('perfect0\nperfect1\nperfect2\n')
    with pytest.raises(FormatError, match=r"pred: missing video folders \['perfect2'\]"):
        score('vspw', gt_root, pred_root, categories)

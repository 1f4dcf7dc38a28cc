"""mIoU on frame subsets (hard / clean frames): the numpy core and VideoSemSegMetric's
``frame_subsets`` option, against hand-computed values."""
import json

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import PixelData

from mmvps.datasets.formats import FormatError
from mmvps.evaluation import VideoSemSegMetric
from mmvps.evaluation.functional import VideoSemSegAccumulator

V = 255
# (video, frame name, gt, prediction); classes 0 / 1, void 255
FRAMES = [
    ('a', '00000010', [[0, 0], [1, 1]], [[0, 0], [1, 1]]),  # perfect
    ('a', '00000011', [[0, 0], [1, 1]], [[1, 1], [1, 1]]),  # hard: IoU 0 / 0.5
    ('a', '00000012', [[0, 0], [1, V]], [[0, 1], [1, 0]]),  # IoU 0.5 / 0.5, void not scored
    ('b', '00000003', [[1, 1], [1, 1]], [[1, 1], [1, 1]]),  # perfect
]
HARD = {'a': {'00000011': 'noise'}, 'b': {}}
# by hand: clean frames (1st, 3rd, 4th): class 0 inter 3, union 4; class 1 inter 7, union 8
MIOU_CLEAN = (3 / 4 + 7 / 8) / 2
MIOU_HARD = (0 / 2 + 2 / 4) / 2
# all frames: class 0 inter 3, union 6; class 1 inter 9, union 12
MIOU_ALL = (3 / 6 + 9 / 12) / 2


def test_core_subsets_by_hand():
    acc = VideoSemSegAccumulator(2, V, vc_windows=(2, ), subsets=('hard', 'clean'))
    for video, name, gt, pred in FRAMES:
        acc.update(video, np.array(gt), np.array(pred),
                   ('hard', ) if name in HARD[video] else ('clean', ))
    result = acc.compute()
    assert result['mIoU'] == pytest.approx(MIOU_ALL)
    assert result['subset_mIoU'] == pytest.approx(dict(hard=MIOU_HARD, clean=MIOU_CLEAN))
    # the subsets do not change the other numbers
    plain = VideoSemSegAccumulator(2, V, vc_windows=(2, ))
    for video, _, gt, pred in FRAMES:
        plain.update(video, np.array(gt), np.array(pred))
    expected = plain.compute()
    assert 'subset_mIoU' not in expected
    assert {k: result[k] for k in expected} == expected


def test_core_merge_and_bad_names():
    halves = [VideoSemSegAccumulator(2, V, subsets=('hard', )) for _ in range(2)]
    for (video, name, gt, pred), acc in zip(FRAMES, [halves[0]] * 3 + [halves[1]]):
        acc.update(video, np.array(gt), np.array(pred), ('hard', ) if name in HARD[video] else ())
    merged = halves[0].merge(halves[1]).compute()
    assert merged['subset_mIoU'] == pytest.approx(dict(hard=MIOU_HARD))
    assert merged['mIoU'] == pytest.approx(MIOU_ALL)
    with pytest.raises(ValueError, match='different subsets'):
        VideoSemSegAccumulator(2, V).merge(VideoSemSegAccumulator(2, V, subsets=('hard', )))
    with pytest.raises(ValueError, match=r"unknown frame subsets \['easy'\]"):
        VideoSemSegAccumulator(2, V, subsets=('hard', )).update('a', np.zeros((1, 1), int),
                                                                np.zeros((1, 1), int), ('easy', ))
    with pytest.raises(ValueError, match='unique'):
        VideoSemSegAccumulator(2, V, subsets=('hard', 'hard'))
    empty = VideoSemSegAccumulator(2, V, subsets=('hard', ))
    empty.update('a', np.zeros((1, 1), int), np.zeros((1, 1), int))
    assert empty.compute()['subset_mIoU'] == dict(hard=None)  # no hard frame: not scored


def samples(frames=FRAMES, frame_name=True):
    out, frame_ids = [], {}
    for video, name, gt, pred in frames:
        t = frame_ids[video] = frame_ids.get(video, -1) + 1
        meta = dict(video_name=video, frame_id=t, img_path=f'data/{video}/origin/{name}.jpg')
        if frame_name:
            meta['frame_name'] = name
        sample = DetDataSample(metainfo=meta)
        sample.gt_sem_seg = PixelData(sem_seg=torch.tensor([gt]))
        sample.pred_sem_seg = PixelData(sem_seg=torch.tensor([pred]))
        out.append(sample.to_dict())
    return out


def evaluate(metric, frames=FRAMES, frame_name=True):
    metric.dataset_meta = dict(classes=('x', 'y'))
    metric.process({}, samples(frames, frame_name))
    return metric.evaluate()


@pytest.mark.parametrize('form', ['dict', 'list'])
@pytest.mark.parametrize('frame_name', [True, False])
def test_metric_reports_hard_and_clean(tmp_path, form, frame_name):
    path = tmp_path / 'hard_frames.json'
    record = HARD if form == 'dict' else {v: sorted(f) for v, f in HARD.items()}
    path.write_text(json.dumps(record))
    got = evaluate(VideoSemSegMetric(vc_windows=(2, ), frame_subsets=dict(hard=str(path))),
                   frame_name=frame_name)
    assert got['vss/mIoU'] == pytest.approx(100 * MIOU_ALL)
    assert got['vss/mIoU_hard'] == pytest.approx(100 * MIOU_HARD)
    assert got['vss/mIoU_clean'] == pytest.approx(100 * MIOU_CLEAN)
    plain = evaluate(VideoSemSegMetric(vc_windows=(2, )))
    assert set(got) - set(plain) == {'vss/mIoU_hard', 'vss/mIoU_clean'}
    assert all(got[k] == plain[k] for k in plain)
    no_rest = evaluate(VideoSemSegMetric(vc_windows=(2, ), frame_subsets=dict(hard=str(path)),
                                         rest_subset=None))
    assert 'vss/mIoU_clean' not in no_rest and 'vss/mIoU_hard' in no_rest


def test_bad_record_files_are_named(tmp_path):
    def run(path):
        return evaluate(VideoSemSegMetric(frame_subsets=dict(hard=str(path))))

    missing = tmp_path / 'nowhere.json'
    with pytest.raises(FormatError, match=f'{missing}: file not found'):
        run(missing)
    broken = tmp_path / 'broken.json'
    broken.write_text('{"a": [')
    with pytest.raises(FormatError, match=f'{broken}: not valid JSON'):
        run(broken)
    for content, message in (([], 'is a JSON object'), ({'a': 3, 'b': []}, "video 'a' must map"),
                             ({'a': [1], 'b': []}, "video 'a' must map")):
        bad = tmp_path / 'bad.json'
        bad.write_text(json.dumps(content))
        with pytest.raises(FormatError, match=f'{bad}: .*{message}'):
            run(bad)
    other = tmp_path / 'other.json'
    other.write_text(json.dumps({'a': []}))  # another dataset's record: video b missing
    with pytest.raises(ValueError, match=f"{other}: frame subset 'hard' lists no video 'b'"):
        run(other)
    with pytest.raises(ValueError, match="rest_subset 'hard'"):
        VideoSemSegMetric(frame_subsets=dict(hard='x.json'), rest_subset='hard')

"""The mmengine metrics on every metric fixture: frame-streamed, whole-video and overlapping-clip
samples through mmengine's ``Evaluator`` give the official numbers of ``expected.json``."""
import numpy as np
import pytest
import torch
from metric_cases import case_names, expected, load_case
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.structures import PixelData

from mmvps.evaluation import VideoPanopticMetric, VideoSemSegMetric
from mmvps.registry import METRICS
from mmvps.structures.panoptic import IGNORE_INDEX, encode_panoptic

TOL = 1e-9
CASES = case_names()


# ------------------------------------------------------------------------------ helpers
def label_space(categories):
    """``(dataset_meta, fixture id -> training label LUT)``: things first, as mmvps orders."""
    ordered = sorted(categories, key=lambda c: (not c['isthing'], c['id']))
    meta = dict(classes=[c['name'] for c in ordered],
                thing_classes=[c['name'] for c in ordered if c['isthing']],
                stuff_classes=[c['name'] for c in ordered if not c['isthing']],
                label2cat=[c['id'] for c in ordered])
    lut = np.full(256, IGNORE_INDEX, np.int64)
    lut[meta['label2cat']] = np.arange(len(ordered))
    return meta, lut


def frame_stem(t):
    """VIPSeg-like frame name: absolute VSPW frame index, step 3."""
    return f'{166 + 3 * t:08d}'


def frame_sample(video_id, video, t, length, lut, maps, is_annotated=True, with_gt=True):
    """A ``DetDataSample`` of frame ``t`` in the mmvps panoptic convention (training labels)."""
    gt_sem, gt_inst, pred_sem, pred_inst = (np.asarray(m[t], np.int64) for m in maps)
    sample = DetDataSample(metainfo=dict(
        video_id=video_id, video_name=video, frame_id=t, frame_name=frame_stem(t),
        video_length=length, img_path=f'{video}/{t:08d}.jpg', is_annotated=is_annotated,
        ori_shape=gt_sem.shape))
    pred = encode_panoptic(lut[pred_sem], pred_inst)
    sample.pred_panoptic_seg = PixelData(sem_seg=torch.from_numpy(pred)[None])
    if with_gt:
        gt = encode_panoptic(lut[gt_sem], np.where(gt_sem == IGNORE_INDEX, 0, gt_inst))
        sample.gt_panoptic_seg = PixelData(sem_seg=torch.from_numpy(gt)[None])
    return sample


def video_samples(videos, lut):
    """Per video, the list of its frame samples."""
    out = []
    for video_id, (video, maps) in enumerate(videos.items()):
        out.append([frame_sample(video_id, video, t, len(maps[0]), lut, maps)
                    for t in range(len(maps[0]))])
    return out


def track_sample(frames):
    sample = TrackDataSample()
    sample.video_data_samples = frames
    return sample


def run_metric(metric, meta, batches):
    """Feed ``batches`` (lists of data samples) through mmengine's ``Evaluator``."""
    evaluator = Evaluator(metric)
    evaluator.dataset_meta = meta
    for batch in batches:
        evaluator.process(batch)
    return evaluator.evaluate(len(batches))


def unprefixed(metrics):
    return {k.split('/', 1)[1]: v / 100 for k, v in metrics.items()}


def assert_groups(got, name, groups):
    """``got[name + suffix]`` equals ``groups`` (None: the key is absent)."""
    for group, suffix in (('all', ''), ('things', '_th'), ('stuff', '_st')):
        value = None if groups is None else groups[group]
        if value is None:
            assert name + suffix not in got, name + suffix
        else:
            assert got[name + suffix] == pytest.approx(value, abs=TOL), name + suffix


def assert_panoptic(got, exp, vpq_key, sizes, mean_key, stq_key='stq'):
    assert_groups(got, 'PQ', exp['pq'])
    for n in sizes:
        assert_groups(got, f'VPQ@n={n}', exp[vpq_key][f'n={n}'])
    assert_groups(got, 'VPQ', exp[vpq_key][mean_key])
    for key in ('STQ', 'AQ', 'IoU'):
        assert got[key] == pytest.approx(exp[stq_key][key], abs=TOL), key


def assert_semseg(got, exp):
    values = dict(mIoU=(exp['vspw_miou'] or {}).get('mIoU'), **exp['vspw_mvc'])
    for key, value in values.items():
        if value is None:
            assert key not in got, key
        else:
            assert got[key] == pytest.approx(value, abs=TOL), key


# ------------------------------------------------------------------------------ fixtures
@pytest.mark.parametrize('case', CASES)
def test_panoptic_metric_frame_streamed(case):
    """One frame per ``process`` call, Cityscapes-VPS windows (n = 1..4)."""
    categories, _, videos = load_case(case)
    meta, lut = label_space(categories)
    frames = [f for video in video_samples(videos, lut) for f in video]
    got = unprefixed(run_metric(VideoPanopticMetric(windows='cityscapes_vps'), meta,
                                [[f] for f in frames]))
    assert_panoptic(got, expected(case)['metrics'], 'vpq_cityscapes_vps', (1, 2, 3, 4), 'mean')


@pytest.mark.parametrize('case', CASES)
def test_panoptic_metric_whole_videos(case):
    """Whole-video ``TrackDataSample``s, VIPSeg's windows (official and paper means)."""
    categories, _, videos = load_case(case)
    meta, lut = label_space(categories)
    batches = [[track_sample(video)] for video in video_samples(videos, lut)]
    exp = expected(case)['metrics']
    got = unprefixed(run_metric(VideoPanopticMetric(windows='vipseg_official'), meta, batches))
    assert_panoptic(got, exp, 'vpq_vipseg', (1, 2, 4, 6, 8), 'mean_1_2_4_6_8')
    got = unprefixed(run_metric(VideoPanopticMetric(windows=[1, 2, 4, 6], with_stq=False), meta,
                                batches))
    assert_groups(got, 'VPQ', exp['vpq_vipseg']['mean_1_2_4_6'])
    assert 'STQ' not in got


@pytest.mark.parametrize('case', ['05_crowd', '13_thing_listed_first'])
def test_panoptic_metric_vipseg_script_stq(case):
    categories, _, videos = load_case(case)
    meta, lut = label_space(categories)
    batches = [[track_sample(video)] for video in video_samples(videos, lut)]
    got = unprefixed(run_metric(VideoPanopticMetric(stq_vipseg_script_compat=True), meta,
                                batches))
    for key in ('STQ', 'AQ', 'IoU'):
        exp = expected(case)['metrics']['stq_vipseg_script'][key]
        assert got[key] == pytest.approx(exp, abs=TOL)


def test_overlapping_clips_count_each_frame_once():
    """Near-online clips of 4 frames with stride 2 (and two videos per batch)."""
    case = '10_varlen'
    categories, _, videos = load_case(case)
    meta, lut = label_space(categories)
    batch = []
    for frames in video_samples(videos, lut):
        starts = range(0, max(len(frames) - 2, 1), 2)
        batch += [track_sample(frames[s:s + 4]) for s in starts]
    got = unprefixed(run_metric(VideoPanopticMetric(windows='cityscapes_vps'), meta,
                                [batch[i:i + 2] for i in range(0, len(batch), 2)]))
    assert_panoptic(got, expected(case)['metrics'], 'vpq_cityscapes_vps', (1, 2, 3, 4), 'mean')


def test_unannotated_frames_are_not_evaluated():
    """Cityscapes-VPS style: unannotated frames (no GT, any prediction) between annotated
    ones change nothing."""
    case = '04_class_confusion'
    categories, _, videos = load_case(case)
    meta, lut = label_space(categories)
    stream = []
    for video_id, (video, maps) in enumerate(videos.items()):
        noise = [np.random.default_rng(0).integers(0, 10, m.shape) for m in maps]
        length = 2 * len(maps[0])
        for t in range(len(maps[0])):
            unannotated = frame_sample(video_id, video, t, length, lut, noise, False, False)
            annotated = frame_sample(video_id, video, t, length, lut, maps)
            unannotated.set_metainfo(dict(frame_id=2 * t))
            annotated.set_metainfo(dict(frame_id=2 * t + 1))
            stream += [unannotated, annotated]
    got = unprefixed(run_metric(VideoPanopticMetric(windows='cityscapes_vps'), meta,
                                [[s] for s in stream]))
    assert_panoptic(got, expected(case)['metrics'], 'vpq_cityscapes_vps', (1, 2, 3, 4), 'mean')


@pytest.mark.parametrize('case', CASES)
def test_semseg_metric(case):
    """mIoU / mVC8 / mVC16 from the semantic part of the panoptic maps, one frame at a time."""
    categories, _, videos = load_case(case)
    meta, lut = label_space(categories)
    frames = [f for video in video_samples(videos, lut) for f in video]
    got = unprefixed(run_metric(VideoSemSegMetric(), meta, [[f] for f in frames]))
    assert_semseg(got, expected(case)['metrics'])


# ------------------------------------------------------------------------------ behaviour
def test_summary_table_logged(capsys):
    categories, _, videos = load_case('01_perfect')
    meta, lut = label_space(categories)
    # a logger made now writes to the stdout pytest captures for this test
    MMLogger.get_instance('test_summary_table_logged')
    run_metric(VideoPanopticMetric(windows=[1, 2]), meta,
               [[s] for frames in video_samples(videos, lut) for s in frames])
    table = capsys.readouterr().out
    lines = [line for line in table.splitlines() if line.startswith('| all')]
    assert lines and lines[0].count('100.00') == 4  # PQ, VPQ@n=1, VPQ@n=2, mean
    assert 'STQ 100.00  AQ 100.00  IoU 100.00' in table


def test_registered_and_window_presets_logged(caplog):
    metric = METRICS.build(dict(type='VideoPanopticMetric', windows='viper'))
    assert isinstance(metric, VideoPanopticMetric) and metric.windows == (5, 10, 15)
    assert METRICS.build(dict(type='VideoPanopticMetric', windows=[1, 2, 4, 6])).windows == (
        1, 2, 4, 6)
    assert isinstance(METRICS.build(dict(type='VideoSemSegMetric')), VideoSemSegMetric)
    with pytest.raises(ValueError, match='unknown VPQ window preset'):
        VideoPanopticMetric(windows='vipsec')
    with pytest.raises(ValueError, match='outfile_prefix needs submission_format'):
        VideoPanopticMetric(outfile_prefix='x')


def test_stream_errors():
    categories, _, videos = load_case('01_perfect')
    meta, lut = label_space(categories)
    first, second = video_samples(videos, lut)

    def feed(samples):
        metric = VideoPanopticMetric()
        metric.dataset_meta = meta
        for s in samples:
            metric.process({}, [s.to_dict()])
        return metric

    with pytest.raises(ValueError, match=r'perfect0/00000002.jpg: frame 2 of video perfect0 '
                       r'follows frame 0'):
        feed([first[0], first[2]])
    with pytest.raises(ValueError, match='video perfect0 resumes after another video'):
        feed([first[0], second[0], first[1]])
    with pytest.raises(ValueError, match='starts at frame 1, not 0'):
        feed([first[1]])
    no_gt = frame_sample(0, 'v', 0, 1, lut, tuple(m for m in videos['perfect0']),
                         with_gt=False)
    with pytest.raises(ValueError, match=r'v/00000000.jpg: the data sample has no '
                       r'gt_panoptic_seg'):
        feed([no_gt])
    split_without_masks = frame_sample(0, 'v', 0, 1, lut, tuple(m for m in videos['perfect0']))
    split_without_masks.set_metainfo(dict(seg_map_path=None))
    for frame in (split_without_masks, split_without_masks.to_dict()):
        metric = VideoPanopticMetric()
        metric.dataset_meta = meta
        with pytest.raises(ValueError, match=r'v/00000000.jpg: the frame has no ground truth'):
            metric.process({}, [frame])
    small = frame_sample(0, 'v', 0, 1, lut, tuple(m[:, :8] for m in videos['perfect0']))
    small.pred_panoptic_seg = first[0].pred_panoptic_seg
    with pytest.raises(ValueError, match=r'prediction \(24, 32\) and ground truth \(8, 32\)'):
        feed([small])
    metric = VideoPanopticMetric()
    metric.dataset_meta = dict(meta, classes=meta['classes'][::-1])
    with pytest.raises(ValueError, match='must list the thing classes first'):
        metric.process({}, [first[0].to_dict()])
    with pytest.raises(ValueError, match='no annotated frame was evaluated'):
        VideoPanopticMetric().evaluate(0)


@pytest.mark.parametrize('gt,pred,pq', [
    # void is left out of the union and excuses: sky IoU 6 / (8 + 6 - 6 - 2) = 1, car on void
    (([0] * 6 + [IGNORE_INDEX] * 4, [0] * 10), ([0] * 8 + [2] * 2, [0] * 8 + [1] * 2),
     dict(PQ=1.0, PQ_st=1.0)),
    # a predicted car over the GT car crowd (4/4 > 0.5) is excused; sky matches exactly
    (([2] * 4 + [0] * 6, [0] * 10), ([2] * 4 + [0] * 6, [1] * 4 + [0] * 6),
     dict(PQ=1.0, PQ_st=1.0)),
    # half of it on crowd (2/4, not > 0.5): an FP car; sky IoU 6 / (6 + 8 - 6) = 0.75 -> TP
    (([2] * 2 + [0] * 8, [0] * 10), ([2] * 4 + [0] * 6, [1] * 4 + [0] * 6),
     dict(PQ=0.375, PQ_th=0.0, PQ_st=0.75)),
])
def test_official_rules_the_label_convention_expresses(gt, pred, pq):
    """The hand-computed cases of test_official_conventions.py that label maps can hold,
    through the in-loop metric (two segments of one stuff class, prediction iscrowd, several
    crowd segments of a class cannot be expressed: docs/conventions.md §6)."""
    categories = [dict(id=0, name='sky', isthing=0), dict(id=1, name='road', isthing=0),
                  dict(id=2, name='car', isthing=1), dict(id=3, name='person', isthing=1)]
    meta, lut = label_space(categories)
    maps = tuple(np.array([[row]]) for row in (*gt, *pred))
    samples = video_samples({'v0': maps}, lut)[0]
    got = unprefixed(run_metric(VideoPanopticMetric(windows=(1, ), with_stq=False), meta,
                                [[s] for s in samples]))
    assert {k: v for k, v in got.items() if k.startswith('PQ')} == pytest.approx(pq, abs=1e-12)

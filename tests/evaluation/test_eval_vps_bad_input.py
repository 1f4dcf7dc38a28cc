"""The offline scorer on bad input and bad arguments: each stops early with an error naming the
file or the argument; a dead worker process ends the run."""
import json
import os
import signal

import numpy as np
import pytest
from test_official_conventions import SKY, eval_vps, seg, write_submission

from mmvps.datasets.formats import FormatError, dump_json, write_step, write_vspw

FRAMES = [([1] * 10, [seg(1, SKY)], [1] * 10, [seg(1, SKY)])] * 2


def evaluate(fmt, gt_root, pred_root, **kwargs):
    return eval_vps.evaluate(fmt, str(gt_root), str(pred_root), progress=False, **kwargs)[0]


def edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_frame_listed_twice_in_pred_json_and_gt_json(tmp_path):
    gt_root, pred_root = write_submission(tmp_path, FRAMES)
    pred_json, gt_json = pred_root / 'pred.json', gt_root / 'panoptic_gt_VIPSeg_val.json'
    original = pred_json.read_text()

    def repeat_frame(data):
        frames = data['annotations'][0]['annotations']
        frames.append(dict(frames[0], segments_info=[seg(1, SKY), seg(2, SKY)]))

    edit_json(pred_json, repeat_frame)
    with pytest.raises(FormatError, match=r'pred.json: frame v0/00000000.png is listed twice'):
        evaluate('vipseg', gt_root, pred_root)
    pred_json.write_text(original)
    edit_json(gt_json, repeat_frame)
    with pytest.raises(FormatError, match=r'panoptic_gt_VIPSeg_val.json: frame v0/00000000.png '
                       'is listed twice'):
        evaluate('vipseg', gt_root, pred_root)
    edit_json(gt_json, lambda d: d['videos'][0]['images'].append(d['videos'][0]['images'][0]))
    with pytest.raises(FormatError, match=r'panoptic_gt_VIPSeg_val.json: image v0/00000000.png '
                       'is listed twice'):
        evaluate('vipseg', gt_root, pred_root)


def test_cityscapes_vps_image_listed_twice(tmp_path):
    gt = dict(images=[dict(id='0001_0001_a_000000_000001', file_name='x_newImg8bit.png',
                           height=1, width=10)] * 2,
              annotations=[dict(image_id='0001_0001_a_000000_000001', file_name='x.png',
                                segments_info=[])], categories=[])
    dump_json(tmp_path / 'gt.json', gt)
    with pytest.raises(FormatError, match=r"gt.json: image id '0001_0001_a_000000_000001' is "
                       'listed twice'):
        eval_vps.read_cityscapes_vps_panoptic_json(tmp_path / 'gt.json')
    dump_json(tmp_path / 'pred.json', dict(annotations=[
        dict(image_id='a', segments_info=[]), dict(image_id='a', segments_info=[])]))
    with pytest.raises(FormatError, match=r"pred.json: image_id 'a' is listed twice"):
        eval_vps.read_cityscapes_vps_panoptic_json(tmp_path / 'pred.json')


@pytest.mark.parametrize('workers', [1, 2])
def test_ground_truth_without_videos(tmp_path, workers):
    gt_root, pred_root = write_submission(tmp_path, FRAMES)
    for path in (gt_root / 'panoptic_gt_VIPSeg_val.json', pred_root / 'pred.json'):
        edit_json(path, lambda d: d.update(annotations=[], videos=[]))
    (pred_root / 'pan_pred' / 'v0' / '00000000.png').unlink()
    (pred_root / 'pan_pred' / 'v0' / '00000001.png').unlink()
    os.rmdir(pred_root / 'pan_pred' / 'v0')
    with pytest.raises(FormatError, match=r'panoptic_gt_VIPSeg_val.json: the ground truth holds '
                       'no video'):
        evaluate('vipseg', gt_root, pred_root, workers=workers)


def test_step_sequence_without_pngs(tmp_path):
    gt, pred = tmp_path / 'gt', tmp_path / 'pred'
    cat, inst = np.zeros((2, 3), np.int64), np.zeros((2, 3), np.int64)
    write_step(gt / 'panoptic_maps' / 'val' / '0001' / '000000.png', cat, inst)
    write_step(pred / '0001' / '000000.png', cat, inst)
    (gt / 'panoptic_maps' / 'val' / '0002').mkdir()
    (pred / '0002').mkdir()
    with pytest.raises(FormatError, match=r'val/0002: the ground truth holds no \*.png frame'):
        evaluate('kitti_step', gt, pred)


def test_split_file_that_is_not_utf8(tmp_path):
    gt, pred = tmp_path / 'gt', tmp_path / 'pred'
    write_vspw(gt / 'data' / 'v0' / 'mask' / '00000000.png', np.zeros((2, 3), np.int64))
    (pred / 'v0').mkdir(parents=True)
    (gt / 'val.txt').write_bytes(b'v0\n\xff\xfe\n')
    with pytest.raises(FormatError, match=r'val.txt: not UTF-8 text'):
        evaluate('vspw', gt, pred)


@pytest.mark.parametrize('argv,message', [
    (['--windows', '0'], "argument --windows: '0' is neither a preset"),
    (['--windows', '-1'], "argument --windows: '-1' is neither a preset"),
    (['--windows', 'abc'], "argument --windows: 'abc' is neither a preset"),
    (['--windows', '1,,2'], "argument --windows: '1,,2' is neither a preset"),
    (['--workers', '0'], "argument --workers: '0' is not a positive integer"),
    (['--workers', 'two'], "argument --workers: 'two' is not a positive integer"),
])
def test_bad_arguments_are_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        eval_vps.parse_args(['vipseg', '--gt-root', 'g', '--pred-root', 'p'] + argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_out_that_cannot_be_written_is_refused_before_scoring(tmp_path, capsys, monkeypatch):
    gt_root, pred_root = write_submission(tmp_path, FRAMES)
    (tmp_path / 'file').write_text('')
    monkeypatch.setattr(eval_vps, 'evaluate', lambda *a, **k: pytest.fail('scored first'))
    for out, problem in ((tmp_path, 'is a directory'),
                         (tmp_path / 'file' / 'results.json', 'is not a directory')):
        with pytest.raises(SystemExit):
            eval_vps.main(['vipseg', '--gt-root', str(gt_root), '--pred-root', str(pred_root),
                           '--out', str(out)])
        assert f'argument --out: ' in capsys.readouterr().err
    if os.geteuid() != 0:  # root may write anywhere
        (tmp_path / 'locked').mkdir(mode=0o500)
        with pytest.raises(SystemExit):
            eval_vps.main(['vipseg', '--gt-root', str(gt_root), '--pred-root', str(pred_root),
                           '--out', str(tmp_path / 'locked' / 'r.json')])


def kill_self(video, **kwargs):
    """A worker that dies as an out-of-memory kill would (no exception, no result)."""
    if video[0] == 'v1':
        os.kill(os.getpid(), signal.SIGKILL)
    return REAL_SCORE_VIDEO(video, **kwargs)


REAL_SCORE_VIDEO = eval_vps.score_video


def test_dead_worker_ends_the_run(tmp_path, monkeypatch):
    gt0, pred0 = write_submission(tmp_path / 'a', FRAMES, video='v0')
    gt1, pred1 = write_submission(tmp_path / 'b', FRAMES, video='v1')
    for src, dst, name in ((gt1, gt0, 'panomasksRGB'), (pred1, pred0, 'pan_pred')):
        os.rename(src / name / 'v1', dst / name / 'v1')
    for path, other in ((gt0 / 'panoptic_gt_VIPSeg_val.json', gt1 / 'panoptic_gt_VIPSeg_val.json'),
                        (pred0 / 'pred.json', pred1 / 'pred.json')):
        more = json.loads(other.read_text())
        edit_json(path, lambda d: [d[k].extend(more[k]) for k in ('videos', 'annotations')
                                   if k in d])
    monkeypatch.setattr(eval_vps, 'score_video', kill_self)
    monkeypatch.setattr(eval_vps, 'available_cpus', lambda: 2, raising=False)

    def hang(*args):
        raise TimeoutError('the scorer hangs after its worker died')

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(30)
    try:
        with pytest.raises(RuntimeError, match='a scoring worker process died'):
            evaluate('vipseg', gt0, pred0, workers=2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_workers_are_capped_at_videos_and_cpus(tmp_path, monkeypatch):
    gt_root, pred_root = write_submission(tmp_path, FRAMES)
    used = []

    class Recorder(eval_vps.ProcessPoolExecutor):
        def __init__(self, workers):
            used.append(workers)
            super().__init__(workers)

    monkeypatch.setattr(eval_vps, 'ProcessPoolExecutor', Recorder)
    monkeypatch.setattr(eval_vps, 'available_cpus', lambda: 3)
    evaluate('vipseg', gt_root, pred_root, workers=8)  # one video: no pool at all
    assert used == []
    assert eval_vps.effective_workers(8, 5) == 3
    assert eval_vps.effective_workers(8, 2) == 2
    assert eval_vps.effective_workers(1, 5) == 1


@pytest.mark.parametrize('name', ['../evil', '/abs/v0', 'a/../../b', ''])
def test_names_that_leave_their_folder(tmp_path, name):
    gt_root, pred_root = write_submission(tmp_path, FRAMES)
    edit_json(gt_root / 'panoptic_gt_VIPSeg_val.json',
              lambda d: d['annotations'][0].update(video_id=name))
    with pytest.raises(FormatError, match='panoptic_gt_VIPSeg_val.json: video name .* is empty, '
                       'absolute or contains ".."'):
        evaluate('vipseg', gt_root, pred_root)
    edit_json(gt_root / 'panoptic_gt_VIPSeg_val.json',
              lambda d: d['annotations'][0].update(video_id='v0'))
    edit_json(pred_root / 'pred.json', lambda d: d['annotations'][0]['annotations'][0].update(
        file_name=name + '.png' if name else ''))
    with pytest.raises(FormatError, match='pred.json: file name .* is empty, absolute or '
                       'contains ".."'):
        evaluate('vipseg', gt_root, pred_root)

"""demo/video_demo.py: the overlay video and id maps it writes, and its errors on bad input."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mmvps.apis import inference_video, init_model
from mmvps.datasets.formats import load_step, load_vipseg_raw
from video_fixtures import static_frames, write_folder, write_mp4

REPO_ROOT = Path(__file__).resolve().parents[2]
KMAX = REPO_ROOT / 'configs/video_kmax/video_kmax_r18_near-online_synthetic.py'


def load_demo():
    spec = importlib.util.spec_from_file_location('mmvps_video_demo',
                                                  REPO_ROOT / 'demo' / 'video_demo.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = load_demo()


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """Random weights saved once, so that the demo and the API run the same model."""
    torch.manual_seed(0)
    model = init_model(str(KMAX))
    path = tmp_path_factory.mktemp('ckpt') / 'random.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)),
               path)
    return str(path)


@pytest.fixture(scope='module')
def mp4(tmp_path_factory):
    return str(write_mp4(tmp_path_factory.mktemp('video') / 'static.mp4', static_frames(6)))


def count_video_frames(path):
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_overlay_video_and_id_maps_match_the_api(mp4, checkpoint, tmp_path):
    out = tmp_path / 'out' / 'result.mp4'
    written = demo.main([mp4, str(KMAX), '--checkpoint', checkpoint, '--out', str(out),
                         '--out-ids', str(tmp_path / 'ids'), '--out-frames',
                         str(tmp_path / 'frames')])
    assert written == 6
    assert count_video_frames(out) == 6
    assert not list(out.parent.glob('.*incomplete*'))
    assert len(list((tmp_path / 'frames').glob('*.png'))) == 6
    model = init_model(str(KMAX), checkpoint)
    for result in inference_video(model, mp4):
        ids = cv2.imread(str(tmp_path / 'ids' / f'{result.frame_id:06d}.png'),
                         cv2.IMREAD_UNCHANGED)
        assert ids.dtype == np.uint16
        np.testing.assert_array_equal(ids.astype(np.int64), result.panoptic)


def test_step_format_and_class_filter(mp4, checkpoint, tmp_path):
    demo.main([mp4, str(KMAX), '--checkpoint', checkpoint, '--no-overlay', '--out-ids',
               str(tmp_path / 'step'), '--out-format', 'step', '--classes', 'sky', 'ground'])
    model = init_model(str(KMAX), checkpoint)
    label2cat = model.dataset_meta['label2cat']
    kept = {label2cat[model.dataset_meta['classes'].index(c)] for c in ('sky', 'ground')}
    for result in inference_video(model, mp4):
        cat, inst = load_step(str(tmp_path / 'step' / f'{result.frame_id:06d}.png'))
        labels = result.panoptic % 1000
        expected = np.full(labels.shape, -1)
        for name in ('sky', 'ground'):
            label = model.dataset_meta['classes'].index(name)
            expected[labels == label] = label2cat[label]
        np.testing.assert_array_equal(cat, expected)
        assert set(np.unique(cat)) <= kept | {-1}
        assert not inst.any()  # stuff only


def test_missing_input_and_unwritable_output(checkpoint, mp4, tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.mp4: no such video'):
        demo.main([str(tmp_path / 'missing.mp4'), str(KMAX), '--out', str(tmp_path / 'o.mp4')])
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    with pytest.raises(OSError, match=f'{blocker}: cannot write the output video'):
        demo.main([mp4, str(KMAX), '--out', str(blocker / 'o.mp4')])
    with pytest.raises(ValueError, match=r"--classes: \['cat'\] are not classes"):
        demo.main([mp4, str(KMAX), '--checkpoint', checkpoint, '--out-ids',
                   str(tmp_path / 'i'), '--no-overlay', '--classes', 'cat'])
    with pytest.raises(SystemExit):
        demo.main([mp4, str(KMAX)])  # nothing to write


def test_failure_midway_leaves_no_video_and_says_so(checkpoint, tmp_path, capsys):
    folder = write_folder(tmp_path / 'mixed', static_frames(3))
    cv2.imwrite(str(folder / '00003.png'), static_frames(1, 64, 64)[0])
    out = tmp_path / 'out.mp4'
    with pytest.raises(ValueError, match='00003.png: frame size 64x64 differs'):
        demo.main([str(folder), str(KMAX), '--checkpoint', checkpoint, '--out', str(out),
                   '--out-ids', str(tmp_path / 'ids')])
    assert not out.exists() and not list(tmp_path.glob('.*incomplete*'))
    err = capsys.readouterr().err
    assert 'stopped after 3 frames: the overlay video was not written' in err
    assert str(tmp_path / 'ids') in err
    assert len(list((tmp_path / 'ids').glob('*.png'))) == 3  # clips [0, 1], [1, 2] done


KNET = REPO_ROOT / 'configs/video_knet/video_knet_r18_synthetic.py'
# let an untrained Video K-Net's thing segments through, so that scores matter
KNET_LOW_THRESHOLDS = ['model.detector.test_cfg.instance_score_thr=0.0',
                       'model.tracker.init_score_thr=0.0', 'model.tracker.obj_score_thr=0.0']


@pytest.fixture(scope='module')
def knet_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = init_model(str(KNET))
    path = tmp_path_factory.mktemp('ckpt') / 'knet_random.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)),
               path)
    return str(path)


def test_vipseg_format_and_score_threshold(mp4, knet_checkpoint, tmp_path):
    model = init_model(str(KNET), knet_checkpoint,
                       cfg_options={s.split('=')[0]: 0.0 for s in KNET_LOW_THRESHOLDS})
    results = list(inference_video(model, mp4))
    scores = sorted({s['score'] for r in results for s in r.segments if s['track_id'] > 0})
    assert scores, 'the lowered thresholds should let thing segments through'
    threshold = scores[len(scores) // 2]  # some thing segments below it, some not
    demo.main([mp4, str(KNET), '--checkpoint', knet_checkpoint, '--no-overlay', '--out-ids',
               str(tmp_path / 'vipseg'), '--out-format', 'vipseg', '--score-thr',
               str(threshold), '--cfg-options', *KNET_LOW_THRESHOLDS])
    label2cat = model.dataset_meta['label2cat']
    num_dropped = 0
    for result in results:
        cat, inst = load_vipseg_raw(str(tmp_path / 'vipseg' / f'{result.frame_id:06d}.png'))
        expected_cat = np.full(cat.shape, -1)
        expected_inst = np.zeros(cat.shape, np.int64)
        for s in result.segments:
            if s['score'] is not None and s['score'] < threshold:
                num_dropped += 1
                continue  # void in the written map
            where = result.panoptic == s['id']
            expected_cat[where] = label2cat[s['label']]
            expected_inst[where] = s['track_id']
        np.testing.assert_array_equal(cat, expected_cat)
        np.testing.assert_array_equal(inst, expected_inst)
    assert num_dropped > 0

"""mmvps.apis: init_model and the streaming inference_video, for an online model (Video K-Net,
clips of 1) and a clip-level model (Video-kMaX near-online, clips of 2 overlapping by 1)."""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData

from mmvps.apis import build_frame_pipeline, clip_settings, inference_video, init_model
from video_fixtures import HEIGHT, WIDTH, static_frames, write_folder, write_mp4

REPO_ROOT = Path(__file__).resolve().parents[2]
KNET = REPO_ROOT / 'configs/video_knet/video_knet_r18_synthetic.py'
KMAX = REPO_ROOT / 'configs/video_kmax/video_kmax_r18_near-online_synthetic.py'
NUM_CLASSES = 6  # the synthetic dataset: 3 things, 3 stuff


@pytest.fixture(scope='module')
def knet():
    torch.manual_seed(0)
    return init_model(str(KNET))


@pytest.fixture(scope='module')
def kmax():
    torch.manual_seed(0)
    return init_model(str(KMAX))


@pytest.fixture(scope='module')
def mp4(tmp_path_factory):
    return write_mp4(tmp_path_factory.mktemp('video') / 'static.mp4', static_frames(5))


class CountingFrames:
    """An iterable of frames that records how many frames had been taken when each result
    came out."""

    def __init__(self, frames):
        self.frames = frames
        self.taken = 0

    def __iter__(self):
        for frame in self.frames:
            self.taken += 1
            yield frame


def check_result(result, frame):
    pan = result.panoptic
    assert pan.shape == frame.shape[:2] and pan.dtype == np.int64
    labels = pan % 1000
    assert labels.min() >= 0 and labels.max() <= NUM_CLASSES  # void = num_classes
    non_void = sorted(int(i) for i in np.unique(pan) if i % 1000 < NUM_CLASSES)
    assert [s['id'] for s in result.segments] == non_void
    for segment in result.segments:
        assert segment['id'] == segment['label'] + 1000 * segment['track_id']
        assert segment['area'] == int((pan == segment['id']).sum())
        if segment['track_id'] > 0:
            assert segment['is_thing'] and 0 <= segment['score'] <= 1
        else:
            assert segment['score'] is None or segment['is_thing']
    np.testing.assert_array_equal(result.image, frame)


def test_clip_settings_come_from_the_config():
    assert clip_settings(Config.fromfile(str(KNET))) == (1, 0)
    assert clip_settings(Config.fromfile(str(KMAX))) == (2, 1)


def test_frame_pipeline_reuses_the_test_transforms():
    cfg = Config.fromfile(str(KMAX))
    pipeline = build_frame_pipeline(cfg)
    names = [type(t).__name__ for t in pipeline.transforms]
    assert names == ['TransformBroadcaster', 'PackVideoPanopticInputs']
    inner = [type(t).__name__ for t in pipeline.transforms[0].transforms.transforms]
    assert inner == ['LoadImageFromNDArray', 'Resize']  # annotations and file loading dropped
    frame = static_frames(1, 48, 80)[0]
    packed = pipeline(dict(img=[frame], frame_id=[0], video_name=['v']))
    # the config's Resize (keep_ratio to 160 x 96) was applied, not a hand-written one
    assert tuple(packed['inputs'].shape) == (1, 3, 96, 160)
    assert packed['data_samples'][0].ori_shape == (48, 80)


@pytest.mark.parametrize('model_name,taken_at', [
    ('knet', [1, 2, 3, 4, 5]),  # online: each frame as soon as it is read
    ('kmax', [2, 2, 3, 4, 5]),  # clips of 2 overlapping by 1: frame 0 needs frame 1
])
def test_one_result_per_frame_in_order_as_soon_as_its_clip_is_done(model_name, taken_at,
                                                                  request):
    model = request.getfixturevalue(model_name)
    frames = static_frames(5)
    source = CountingFrames(frames)
    seen = []
    for result in inference_video(model, source):
        seen.append((result.frame_id, source.taken))
        check_result(result, frames[result.frame_id])
    assert seen == list(zip(range(5), taken_at))


def test_last_clip_moved_back_to_the_last_frame():
    """Clips of 2 without overlap on 5 frames: starts 0, 2 and 3 (the last clip moved back),
    as in testing; frame 3 is predicted once, by the clip starting at 2."""
    cfg = Config.fromfile(str(KMAX))
    cfg.test_dataloader.dataset.pipeline[0].clip_overlap = 0
    torch.manual_seed(0)
    model = init_model(cfg)
    calls = []
    predict = model.predict

    def recording_predict(inputs, data_samples, **kwargs):
        calls.append([frame.frame_id for frame in data_samples[0]])
        return predict(inputs, data_samples, **kwargs)

    model.predict = recording_predict
    frames = static_frames(5)
    ids = [r.frame_id for r in inference_video(model, frames)]
    assert ids == [0, 1, 2, 3, 4]
    assert calls == [[0, 1], [2, 3], [3, 4]]


def test_video_file_folder_glob_and_arrays(knet, mp4, tmp_path):
    frames = static_frames(5)
    from_video = list(inference_video(knet, str(mp4)))
    assert [r.frame_id for r in from_video] == [0, 1, 2, 3, 4]
    assert from_video[0].image.shape == (HEIGHT, WIDTH, 3)
    folder = write_folder(tmp_path / 'frames', frames)
    from_folder = list(inference_video(knet, folder))
    from_glob = list(inference_video(knet, str(folder / '*.png')))
    from_arrays = list(inference_video(knet, frames))
    assert [r.source for r in from_folder] == sorted(str(p) for p in folder.glob('*.png'))
    for a, b, c in zip(from_folder, from_glob, from_arrays):  # PNG is lossless: same frames
        np.testing.assert_array_equal(a.panoptic, b.panoptic)
        np.testing.assert_array_equal(a.panoptic, c.panoptic)


def test_a_new_call_is_a_new_video(kmax):
    """The model's clip state is reset per video: running twice gives the same ids."""
    frames = static_frames(4)
    first = [r.panoptic for r in inference_video(kmax, frames)]
    second = [r.panoptic for r in inference_video(kmax, frames)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_bad_inputs_name_the_path(knet, tmp_path):
    missing = tmp_path / 'missing.mp4'
    with pytest.raises(FileNotFoundError, match=str(missing)):
        list(inference_video(knet, str(missing)))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=f'{empty}: no image files'):
        list(inference_video(knet, str(empty)))
    garbage = tmp_path / 'garbage.mp4'
    garbage.write_bytes(b'not a video at all' * 10)
    with pytest.raises(ValueError, match=str(garbage)):
        list(inference_video(knet, str(garbage)))
    no_frames = tmp_path / 'no_frames.avi'
    writer = cv2.VideoWriter(str(no_frames), cv2.VideoWriter_fourcc(*'MJPG'), 10, (WIDTH, HEIGHT))
    writer.release()
    with pytest.raises(ValueError, match=str(no_frames)):
        list(inference_video(knet, str(no_frames)))
    mixed = write_folder(tmp_path / 'mixed', static_frames(2))
    cv2.imwrite(str(mixed / '00002.png'), static_frames(1, 64, 64)[0])
    with pytest.raises(ValueError, match=f'{mixed / "00002.png"}: frame size 64x64 differs'):
        list(inference_video(knet, str(mixed)))
    with pytest.raises(ValueError, match='frame 1: expected an H x W x 3 image'):
        list(inference_video(knet, [static_frames(1)[0], np.zeros((4, 4, 4), np.uint8)]))
    with pytest.raises(FileNotFoundError, match='nope.py: config file not found'):
        init_model(str(tmp_path / 'nope.py'))


def assert_same_as_test_loop(model, root):
    """The API on a video's frames gives what the test dataloader + model give on that video
    (same transforms, same clips)."""
    from mmengine.runner import Runner
    loader_cfg = model.cfg.test_dataloader.copy()
    loader_cfg.dataset.data_root = str(root) + '/'
    loader_cfg.num_workers = 0
    loader_cfg.persistent_workers = False
    loader = Runner.build_dataloader(loader_cfg)
    expected = {}
    with torch.no_grad():
        for batch in loader:
            sample = model.test_step(batch)[0]
            for t in sample.metainfo.get('key_frames_inds', range(len(sample))):
                frame = sample[t]
                expected[frame.img_path] = frame.pred_panoptic_seg.sem_seg[0].numpy()
    video = next((root / 'imgs').iterdir())
    results = list(inference_video(model, str(video)))
    assert [r.source for r in results] == sorted(expected)
    for result in results:
        np.testing.assert_array_equal(result.panoptic, expected[result.source])
    return results


def synthetic_video(root, seed=0):
    from mmvps.datasets.synthetic import generate_synthetic_vps
    generate_synthetic_vps(str(root), num_train_videos=0, num_val_videos=1, num_frames=5,
                           seed=seed)
    return root


@pytest.mark.parametrize('model_name', ['knet', 'kmax'])
def test_same_predictions_as_the_test_loop(model_name, request, tmp_path):
    model = request.getfixturevalue(model_name)
    assert_same_as_test_loop(model, synthetic_video(tmp_path / 'synthetic'))


# Untrained models segment little: these overrides let thing segments through their score
# thresholds, so the association runs on real segments.
LOW_THRESHOLDS = {
    'knet': {'model.detector.test_cfg.instance_score_thr': 0.0,
             'model.tracker.init_score_thr': 0.0, 'model.tracker.obj_score_thr': 0.0},
    'kmax': {'model.segmenter.post_processor.thing_threshold': 0.0,
             'model.segmenter.post_processor.thing_area_limit': 1,
             'model.segmenter.post_processor.pixel_confidence_threshold': 0.0,
             'model.segmenter.post_processor.overlap_threshold': 0.0},
}
CONFIGS = dict(knet=KNET, kmax=KMAX)


def thing_tracks(result):
    return sorted((s['label'], s['track_id']) for s in result.segments if s['track_id'] > 0)


@pytest.mark.parametrize('model_name', ['knet', 'kmax'])
def test_ids_stable_on_a_static_video(model_name, mp4):
    """A static scene (an mp4 of one picture plus noise): every frame has the same thing
    tracks, through the online tracker (Video K-Net) and stitching across clips (Video-kMaX)."""
    torch.manual_seed(0)
    model = init_model(str(CONFIGS[model_name]), cfg_options=LOW_THRESHOLDS[model_name])
    tracks = [thing_tracks(r) for r in inference_video(model, str(mp4))]
    assert len(tracks) == 5 and tracks[0], 'the thresholds should let thing segments through'
    assert all(t == tracks[0] for t in tracks)


# Trained CPU defaults: README command 1 trains Video K-Net (6000 iterations), and
# configs/video_kmax/README.md trains Video-kMaX (1500 iterations, ~10 min). What needs a model
# that really segments the objects uses them when they are there.
TRAINED = {
    'knet': Path(os.environ.get(
        'MMVPS_VIDEO_KNET_CHECKPOINT',
        REPO_ROOT / 'work_dirs/video_knet_r18_synthetic/iter_6000.pth')),
    'kmax': Path(os.environ.get('MMVPS_VIDEO_KMAX_CHECKPOINT',
                                REPO_ROOT / 'work_dirs/video_kmax_r18/iter_1500.pth')),
}


@pytest.mark.parametrize('model_name', [
    pytest.param(name, marks=pytest.mark.skipif(
        not TRAINED[name].is_file(),
        reason=f'no trained checkpoint at {TRAINED[name]} (set '
        f'MMVPS_VIDEO_{name.upper()}_CHECKPOINT)')) for name in ('knet', 'kmax')])
def test_trained_model_ids_stable_on_a_static_object_and_same_as_test_loop(model_name,
                                                                            tmp_path):
    root = synthetic_video(tmp_path / 'synthetic', seed=3)
    model = init_model(str(CONFIGS[model_name]), str(TRAINED[model_name]))
    results = assert_same_as_test_loop(model, root)
    assert any(s['track_id'] > 0 for r in results for s in r.segments)  # real segments
    first = cv2.imread(str(sorted(root.glob('imgs/*/*.jpg'))[0]))
    mp4 = write_mp4(tmp_path / 'static.mp4', [first] * 8)
    tracks = [thing_tracks(r) for r in inference_video(model, str(mp4))]
    assert len(tracks) == 8 and tracks[0], 'the trained model should find the objects'
    assert all(t == tracks[0] for t in tracks)  # the same objects keep the same ids


def test_semantic_model_predictions(kmax):
    """A semantic model (TCB, Video-kMaX on VSPW) may write only ``pred_sem_seg`` (255 void):
    the API gives its classes as stuff segments, void = num_classes."""
    frames = static_frames(3)
    panoptic = [r.panoptic for r in inference_video(kmax, frames)]
    test_step = kmax.test_step

    def semantic_test_step(data):
        samples = test_step(data)
        for frame in samples[0]:
            sem = frame.pred_panoptic_seg.sem_seg % 1000
            sem[sem == NUM_CLASSES] = 255
            del frame.pred_panoptic_seg
            frame.pred_sem_seg = PixelData(sem_seg=sem)
        return samples

    kmax.test_step = semantic_test_step
    try:
        results = list(inference_video(kmax, frames))
    finally:
        del kmax.test_step
    assert len(results) == 3
    for result, expected in zip(results, panoptic):
        np.testing.assert_array_equal(result.panoptic, expected % 1000)
        assert all(s['track_id'] == 0 for s in result.segments)


# Every CPU default video model in configs/ (a new model's synthetic config joins by itself).
CPU_DEFAULTS = sorted(p for p in (REPO_ROOT / 'configs').glob('*/*_synthetic*.py')
                      if p.parent.name != 'other_project')


@pytest.mark.parametrize('config', CPU_DEFAULTS, ids=lambda p: p.stem)
def test_every_cpu_default_video_model_streams_one_result_per_frame(config):
    """Each model gives one result per frame, in order, each as soon as the clip that predicts
    it has been read (online models: at once)."""
    torch.manual_seed(0)
    model = init_model(str(config))
    clip_length, clip_overlap = clip_settings(model.cfg)
    frames = static_frames(7)
    source = CountingFrames(frames)
    seen = []
    for result in inference_video(model, source):
        seen.append(result.frame_id)
        # the clip that predicts a frame starts at or before it and is read by then
        assert source.taken <= result.frame_id + clip_length
        check_result(result, frames[result.frame_id])
    assert seen == list(range(7))

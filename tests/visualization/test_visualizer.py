"""VideoPanopticVisualizer, write_video_overlays and VideoPanopticVisualizationHook."""
import uuid
from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.structures import PixelData

from mmvps.engine.hooks import VideoPanopticVisualizationHook
from mmvps.registry import HOOKS, VISUALIZERS
from mmvps.visualization import VideoPanopticVisualizer, track_color, write_video_overlays

META = dict(classes=('person', 'car', 'road', 'sky'), thing_classes=('person', 'car'),
            palette=[(220, 20, 60), (0, 0, 142), (128, 64, 128), (70, 130, 180)])
H, W = 12, 16
ALPHA = 0.5
GRAY = 100  # the frames are uniform gray, so a drawn pixel is a known blend


def make_visualizer(**kwargs):
    vis = VideoPanopticVisualizer.get_instance(f'vis-{uuid.uuid4()}', alpha=ALPHA, **kwargs)
    vis.dataset_meta = META
    return vis


def panoptic_frame(person_x, car_x):
    """Road (bottom) and sky (top), person track 3 and car track 7 as 4x4 squares at the
    given columns, a void stripe at the last column."""
    pan = np.full((H, W), 3, dtype=np.int64)
    pan[H // 2:] = 2
    pan[4:8, person_x:person_x + 4] = 0 + 3 * 1000
    pan[4:8, car_x:car_x + 4] = 1 + 7 * 1000
    pan[:, -1] = 255
    return pan


def blend(color):
    return np.round((1 - ALPHA) * GRAY + ALPHA * np.asarray(color)).astype(np.uint8)


def test_track_color_is_stable_and_distinct():
    ids = [label + inst * 1000 for label in range(5) for inst in range(1, 101)]
    colors = [track_color(i) for i in ids]
    assert colors == [track_color(i) for i in ids]  # a pure function of the id
    assert len(set(colors)) == len(ids)
    # consecutive tracks of a class are far apart (sum of RGB differences)
    for inst in range(1, 50):
        a, b = np.array(track_color(inst * 1000)), np.array(track_color((inst + 1) * 1000))
        assert np.abs(a - b).sum() > 60


def test_same_track_same_color_in_two_frames():
    vis = make_visualizer(with_labels=False)
    image = np.full((H, W, 3), GRAY, dtype=np.uint8)
    frame0 = vis.draw_panoptic(image, panoptic_frame(person_x=1, car_x=8))
    frame1 = vis.draw_panoptic(image, torch.from_numpy(panoptic_frame(person_x=3, car_x=10))[None])
    person, car = track_color(3000), track_color(7001)
    assert person != car
    # interior pixels (borders are white) of each track
    np.testing.assert_array_equal(frame0[5, 2], blend(person))
    np.testing.assert_array_equal(frame1[5, 4], blend(person))
    np.testing.assert_array_equal(frame0[5, 9], blend(car))
    np.testing.assert_array_equal(frame1[5, 11], blend(car))
    # stuff in its palette colour, void untouched, segment borders white
    np.testing.assert_array_equal(frame0[1, 5], blend(META['palette'][3]))
    np.testing.assert_array_equal(frame0[10, 5], blend(META['palette'][2]))
    np.testing.assert_array_equal(frame0[3, W - 1], [255, 255, 255])  # border column of void
    np.testing.assert_array_equal(frame0[4, 1], [255, 255, 255])  # track border


def test_void_and_crowd_colors():
    vis = make_visualizer(with_labels=False)
    image = np.full((H, W, 3), GRAY, dtype=np.uint8)
    pan = np.full((H, W), 255, dtype=np.int64)
    pan[:, :8] = 1  # a car segment without a track id (crowd in ground truth)
    drawn = vis.draw_panoptic(image, pan, is_gt=True)
    np.testing.assert_array_equal(drawn[5, 3], blend(META['palette'][1]))
    np.testing.assert_array_equal(drawn[5, 12], [GRAY] * 3)  # void (255) untouched
    pan[:, 8:] = len(META['classes'])  # a model's void label C
    np.testing.assert_array_equal(vis.draw_panoptic(image, pan)[5, 12], [GRAY] * 3)


def test_labels_are_drawn_and_size_is_checked():
    vis = make_visualizer(with_labels=True)
    image = np.full((48, 64, 3), GRAY, dtype=np.uint8)
    pan = np.full((48, 64), 2, dtype=np.int64)
    pan[10:30, 10:40] = 3000
    with_text = vis.draw_panoptic(image, pan)
    without = vis.draw_panoptic(image, pan, with_labels=False)
    assert with_text.shape == without.shape == (48, 64, 3)
    assert (with_text != without).any()  # the text boxes
    with pytest.raises(ValueError, match='differ in size'):
        vis.draw_panoptic(image, pan[:-1])
    vis.dataset_meta = {}
    with pytest.raises(ValueError, match='needs dataset_meta with "classes"'):
        vis.draw_panoptic(image, pan)


def video_sample(tmp_path, video_name='0_vid', num_frames=2, with_gt=True):
    """A TrackDataSample of ``num_frames`` frames whose images exist on disk."""
    frames = []
    for t in range(num_frames):
        img_path = tmp_path / 'imgs' / video_name / f'{t * 3:08d}.jpg'
        mmcv.imwrite(np.full((H, W, 3), GRAY, dtype=np.uint8), str(img_path))
        frame = DetDataSample(metainfo=dict(
            img_path=str(img_path), video_name=video_name, frame_name=f'{t * 3:08d}',
            frame_id=t, ori_shape=(H, W)))
        pan = torch.from_numpy(panoptic_frame(1 + t, 8 + t))[None]
        frame.pred_panoptic_seg = PixelData(sem_seg=pan)
        if with_gt:
            frame.gt_panoptic_seg = PixelData(sem_seg=pan.clone())
        frames.append(frame)
    sample = TrackDataSample()
    sample.video_data_samples = frames
    return sample


def test_write_video_overlays(tmp_path):
    vis = make_visualizer(with_labels=False)
    paths = write_video_overlays(video_sample(tmp_path), str(tmp_path / 'out'), vis)
    assert paths == [str(tmp_path / 'out' / '0_vid' / f'{s}.jpg') for s in ('00000000', '00000003')]
    drawn = [mmcv.imread(p, channel_order='rgb') for p in paths]
    assert all(d.shape == (H, 2 * W, 3) for d in drawn)  # ground truth | prediction
    for d in drawn:  # the same map as ground truth and prediction: equal halves (up to JPEG)
        assert np.abs(d[:, :W].astype(int) - d[:, W:]).mean() < 3
        assert np.abs(d.astype(int) - GRAY).mean() > 20  # overlaid, not the plain frame
    pred_only = write_video_overlays(video_sample(tmp_path)[0], str(tmp_path / 'pred'), vis,
                                     draw_gt=False)
    assert mmcv.imread(pred_only[0]).shape == (H, W, 3)


def test_only_key_frames_of_a_clip_are_drawn(tmp_path):
    vis = make_visualizer(with_labels=False)
    clip = video_sample(tmp_path, num_frames=3)
    clip.set_metainfo(dict(key_frames_inds=[1, 2], ref_frames_inds=[0]))  # frame 0 overlaps
    paths = write_video_overlays([clip], str(tmp_path / 'out'), vis)
    assert [p.rsplit('/', 1)[1] for p in paths] == ['00000003.jpg', '00000006.jpg']


def test_visualization_hook_writes_test_frames(tmp_path):
    vis = make_visualizer(with_labels=False)
    hook = HOOKS.build(dict(type='VideoPanopticVisualizationHook', draw=True,
                            test_out_dir='show'))
    assert isinstance(hook, VideoPanopticVisualizationHook)
    assert hook._visualizer is vis
    runner = SimpleNamespace(work_dir=str(tmp_path / 'work'), timestamp='20240101_000000')
    hook.before_test(runner)
    for name in ('1_a', '2_b'):
        hook.after_test_iter(runner, 0, {}, [video_sample(tmp_path, name, with_gt=False)])
    out = tmp_path / 'work' / '20240101_000000' / 'show'
    written = sorted(str(p.relative_to(out)) for p in out.rglob('*.jpg'))
    assert written == ['1_a/00000000.jpg', '1_a/00000003.jpg', '2_b/00000000.jpg',
                       '2_b/00000003.jpg']
    assert mmcv.imread(str(out / '1_a' / '00000003.jpg')).shape == (H, W, 3)


def test_visualization_hook_off_and_val_interval(tmp_path, monkeypatch):
    vis = make_visualizer(with_labels=False)
    drawn = []
    monkeypatch.setattr(vis, 'add_image', lambda name, image, step=0: drawn.append(step))
    runner = SimpleNamespace(work_dir=str(tmp_path), timestamp='t')
    off = VideoPanopticVisualizationHook()
    off.after_test_iter(runner, 0, {}, [video_sample(tmp_path)])
    off.after_val_iter(runner, 0, {}, [video_sample(tmp_path)])
    assert drawn == []
    hook = VideoPanopticVisualizationHook(draw=True, interval=3)
    for _ in range(3):
        hook.after_val_iter(runner, 0, {}, [video_sample(tmp_path)])
    assert drawn == [0, 3]  # frames 0 and 3 of the 6 validation frames


def test_visualizer_is_registered():
    vis = VISUALIZERS.build(dict(type='VideoPanopticVisualizer', name=f'vis-{uuid.uuid4()}'))
    assert isinstance(vis, VideoPanopticVisualizer) and vis.with_labels

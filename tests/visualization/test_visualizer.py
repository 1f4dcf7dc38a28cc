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
    """Panels without titles and void left as in the frame unless asked: pixels are blends."""
    kwargs = dict(dict(with_titles=False, show_void=False), **kwargs)
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
    assert vis.with_titles and vis.show_void and not vis.with_legend and vis.color_by == 'track'
    with pytest.raises(ValueError, match="color_by must be one of \\('track', 'gt_track'\\)"):
        VideoPanopticVisualizer(name=f'vis-{uuid.uuid4()}', color_by='class')


def test_void_is_darkened_and_hatched():
    vis = make_visualizer(with_labels=False, show_void=True)
    image = np.full((H, W, 3), GRAY, dtype=np.uint8)
    pan = np.full((H, W), 2, dtype=np.int64)
    pan[:, 8:] = 255  # ground-truth void
    pan[:4, 8:] = len(META['classes'])  # a model's void label C
    drawn = vis.draw_panoptic(image, pan)
    ys, xs = np.mgrid[:H, 9:W]  # void, off the border column 8 and the border row 4
    ys, xs = ys[ys != 4], xs[ys != 4]
    hatch = (xs + ys) % 6 == 0
    assert (drawn[ys[hatch], xs[hatch]] == 160).all()
    assert (drawn[ys[~hatch], xs[~hatch]] == round(GRAY * 0.35)).all()
    np.testing.assert_array_equal(drawn[5, 3], blend(META['palette'][2]))


def test_titles_and_legend_around_the_panels(tmp_path):
    vis = make_visualizer(with_labels=False, with_titles=True, with_legend=True)
    image = np.full((48, 64, 3), GRAY, dtype=np.uint8)
    pan = np.full((48, 64), 2, dtype=np.int64)
    pan[10:30, 10:40] = 3000
    pan[:, 60:] = 255
    sample = DetDataSample()
    sample.gt_panoptic_seg = PixelData(sem_seg=torch.from_numpy(pan)[None])
    pred = pan.copy()
    pred[10:30, 10:40] = 1 + 5 * 1000  # a car where the person is
    sample.pred_panoptic_seg = PixelData(sem_seg=torch.from_numpy(pred)[None])
    drawn = vis.compose(image, sample)
    bar = vis._text_bar(64, 48, 'ground truth')
    legend = vis.legend(pan, 64, 48, is_gt=True)
    assert drawn.shape == (bar.shape[0] + 48 + legend.shape[0], 128, 3)
    np.testing.assert_array_equal(drawn[:bar.shape[0], :64], bar)
    assert (bar != 32).any()  # the title is written
    panel = drawn[bar.shape[0]:bar.shape[0] + 48]
    np.testing.assert_array_equal(panel[:, :64], vis.draw_panoptic(image, pan, True))
    np.testing.assert_array_equal(panel[:, 64:], vis.draw_panoptic(image, pred))
    # the legend shows each segment's colour: the person track, the road, then void
    below = drawn[bar.shape[0] + 48:, :64].reshape(-1, 3)
    for color in (track_color(3000), META['palette'][2]):
        assert (below == color).all(axis=1).sum() > 9, color
    assert (below == 160).all(axis=1).any()  # the void hatch swatch


def test_labels_fit_the_image_and_do_not_overlap():
    """Many small segments: every drawn label lies inside the image, no two overlap, and the
    labels that would not fit are left out (larger segments keep theirs)."""
    vis = make_visualizer(with_labels=True)
    pan = np.full((60, 80), 2, dtype=np.int64)
    for i in range(8):
        for j in range(6):
            pan[j * 10:j * 10 + 8, i * 10:i * 10 + 8] = 0 + (1 + i + 8 * j) * 1000
    pan[:, 76:] = 3 + 0  # a thin stuff stripe at the right border
    segment_ids, index, _ = vis._segments(pan)
    texts = [vis.segment_text(i, False) for i in segment_ids.tolist()]
    boxes = vis.label_boxes(segment_ids, index, texts)
    drawn = [b for b in boxes if b is not None]
    assert 0 < len(drawn) < len(boxes)  # some left out
    for k, (x0, y0, x1, y1) in enumerate(drawn):
        assert 0 <= x0 < x1 <= 80 and 0 <= y0 < y1 <= 60
        for other in drawn[k + 1:]:
            assert not (x0 < other[2] and other[0] < x1 and y0 < other[3] and other[1] < y1)
    road = segment_ids.tolist().index(2)  # the largest segment is labelled first
    assert boxes[road] is not None
    too_long = vis.label_boxes(segment_ids[:1], np.zeros((6, 8), dtype=np.int64),
                               ['a label far wider than the image'])
    assert too_long == [None]


def test_colour_predictions_by_matched_gt_track():
    from mmvps.visualization import match_to_gt
    gt = np.full((H, W), 2, dtype=np.int64)
    gt[2:10, 1:7] = 0 + 4 * 1000  # person track 4
    gt[2:10, 8:14] = 1 + 2 * 1000  # car track 2
    pred = np.full((H, W), 2, dtype=np.int64)
    pred[2:10, 1:6] = 0 + 9 * 1000  # IoU 40/48 with the person: matched
    pred[2:4, 8:14] = 1 + 3 * 1000  # IoU 12/48 with the car: not matched
    assert match_to_gt(gt, pred, num_things=2) == {9000: 4000}
    sample = DetDataSample()
    sample.gt_panoptic_seg = PixelData(sem_seg=torch.from_numpy(gt)[None])
    sample.pred_panoptic_seg = PixelData(sem_seg=torch.from_numpy(pred)[None])
    image = np.full((H, W, 3), GRAY, dtype=np.uint8)
    by_gt = make_visualizer(with_labels=False, color_by='gt_track').compose(image, sample)
    own = make_visualizer(with_labels=False).compose(image, sample)
    np.testing.assert_array_equal(by_gt[5, W + 3], blend(track_color(4000)))
    np.testing.assert_array_equal(own[5, W + 3], blend(track_color(9000)))
    np.testing.assert_array_equal(by_gt[3, W + 10], blend(track_color(3001)))  # unmatched


def test_hook_png_output_test_interval_and_mp4(tmp_path):
    import cv2
    vis = make_visualizer(with_labels=False)
    hook = VideoPanopticVisualizationHook(draw=True, test_out_dir='show', test_interval=2,
                                          suffix='.png', write_mp4=True, fps=4)
    logged = []
    runner = SimpleNamespace(work_dir=str(tmp_path / 'work'), timestamp='t',
                             logger=SimpleNamespace(info=logged.append))
    hook.before_test(runner)
    sample = video_sample(tmp_path, '3_c', num_frames=5)
    hook.after_test_iter(runner, 0, {}, [sample])
    hook.after_test(runner)
    out = tmp_path / 'work' / 't' / 'show'
    assert sorted(p.name for p in (out / '3_c').iterdir()) == [
        '00000000.png', '00000006.png', '00000012.png']  # frame ids 0, 2, 4
    expected = vis.compose(mmcv.imread(sample[2].img_path, channel_order='rgb'), sample[2])
    np.testing.assert_array_equal(  # lossless
        mmcv.imread(str(out / '3_c' / '00000006.png'), channel_order='rgb'), expected)
    video = cv2.VideoCapture(str(out / '3_c.mp4'))
    assert video.get(cv2.CAP_PROP_FRAME_COUNT) == 3 and video.get(cv2.CAP_PROP_FPS) == 4
    assert (video.get(cv2.CAP_PROP_FRAME_HEIGHT), video.get(cv2.CAP_PROP_FRAME_WIDTH)) == \
        (H, 2 * W)
    assert logged == [f'wrote 1 overlay videos to {out}']
    with pytest.raises(ValueError, match="suffix must be one of \\('.jpg', '.png'\\)"):
        VideoPanopticVisualizationHook(suffix='.bmp')


def test_overlays_to_mp4_tool(tmp_path, capsys):
    import importlib.util

    import cv2
    from pathlib import Path
    vis = make_visualizer(with_labels=False)
    for name in ('4_d', '5_e'):
        write_video_overlays(video_sample(tmp_path, name, num_frames=3), str(tmp_path / 'vis'),
                             vis)
    tool = Path(__file__).resolve().parents[2] / 'tools' / 'misc' / 'overlays_to_mp4.py'
    spec = importlib.util.spec_from_file_location('overlays_to_mp4', tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([str(tmp_path / 'vis'), '--fps', '2', '--videos', '5_e'])
    assert capsys.readouterr().out.split() == [str(tmp_path / 'vis' / '5_e.mp4')]
    video = cv2.VideoCapture(str(tmp_path / 'vis' / '5_e.mp4'))
    assert video.get(cv2.CAP_PROP_FRAME_COUNT) == 3
    assert (video.get(cv2.CAP_PROP_FRAME_HEIGHT), video.get(cv2.CAP_PROP_FRAME_WIDTH)) == \
        (H, 2 * W)
    assert not (tmp_path / 'vis' / '4_d.mp4').exists()
    # odd sizes are padded to even ones for the codec; frames of another size are an error
    from mmvps.visualization import write_mp4
    odd = [str(tmp_path / f'odd{i}.png') for i in range(2)]
    for path in odd:
        mmcv.imwrite(np.full((13, 17, 3), 90, dtype=np.uint8), path)
    video = cv2.VideoCapture(write_mp4(odd, str(tmp_path / 'odd.mp4')))
    assert (video.get(cv2.CAP_PROP_FRAME_HEIGHT), video.get(cv2.CAP_PROP_FRAME_WIDTH)) == (14, 18)
    mmcv.imwrite(np.zeros((8, 8, 3), dtype=np.uint8), odd[1])
    with pytest.raises(ValueError, match='odd1.png: unreadable or not 17x13 like'):
        write_mp4(odd, str(tmp_path / 'bad.mp4'))


def test_a_label_moves_off_a_larger_segments_label():
    """Two halves of a frame: the right half's label would cover the left half's at its thickest
    spot, so it goes to the thickest free spot instead."""
    vis = make_visualizer(with_labels=True)
    pan = np.full((60, 64), 0 + 1000, dtype=np.int64)  # person 1 (left, placed first)
    pan[:, 32:] = 0 + 2000  # person 2 (right): labels wider than a half
    segment_ids, index, _ = vis._segments(pan)
    texts = [vis.segment_text(i, False) for i in segment_ids.tolist()]
    left, right = vis.label_boxes(segment_ids, index, texts)
    alone = vis.label_boxes(segment_ids[1:], np.where(index == 1, 0, -1), texts[1:])[0]
    assert left is not None and right is not None and right != alone
    assert not (left[0] < right[2] and right[0] < left[2] and left[1] < right[3]
                and right[1] < left[3])
    assert alone[1] == left[1] and right[1] > left[3]  # moved down, below the first label

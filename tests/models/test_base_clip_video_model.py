"""The clip-level inference loop (BaseClipVideoModel) with fake segmenters: hand-made clips, and
the ground truth run through the real near-online test data flow and the metric."""
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData

from mmvps.datasets import SyntheticVPSDataset, generate_synthetic_vps
from mmvps.datasets.samplers import VideoBalancedTestSampler
from mmvps.models.vps import BaseClipVideoModel, ClipPrediction
from mmvps.structures import INSTANCE_OFFSET
from mmvps.utils import register_all_modules

register_all_modules()

H, W = 8, 12
NUM_CLASSES = 4  # classes 0, 1 things, 2, 3 stuff; void = 4


class ScriptedSegmenter(BaseClipVideoModel):
    """Returns hand-made clip predictions, one per ``predict`` call, in order."""

    def __init__(self, predictions, **kwargs):
        super().__init__(**kwargs)
        self.predictions = list(predictions)
        self.calls = []

    def segment_clip(self, inputs, track_sample):
        self.calls.append([frame.frame_id for frame in track_sample])
        return self.predictions.pop(0)

    def loss(self, inputs, data_samples, **kwargs):
        raise NotImplementedError('test segmenter: inference only')


class GroundTruthSegmenter(BaseClipVideoModel):
    """Predicts each clip's ground truth: one tube per GT track (things) or class (stuff), with
    an appearance embedding that identifies the GT track (so association can be perfect) but
    says nothing about the global id the loop must give it."""

    def __init__(self, num_things, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_things, self.num_classes = num_things, num_classes

    def segment_clip(self, inputs, track_sample):
        pan = torch.stack([frame.gt_panoptic_seg.sem_seg[0] for frame in track_sample])
        sem, inst = pan % INSTANCE_OFFSET, pan // INSTANCE_OFFSET
        void = sem >= self.num_classes
        sem[void] = self.num_classes
        keys, index = torch.unique(torch.stack([sem, inst], -1).reshape(-1, 2), dim=0,
                                   return_inverse=True)
        real = keys[:, 0] < self.num_classes
        segment_of_key = torch.cumsum(real.long(), 0) * real  # void key -> 0
        segment_map = segment_of_key[index].reshape(sem.shape)
        keys = keys[real]
        embeds = torch.stack([
            torch.randn(32, generator=torch.Generator().manual_seed(int(c) * 1000 + int(i)))
            for c, i in keys.tolist()
        ]) if len(keys) else torch.zeros(0, 32)
        segments = InstanceData(labels=keys[:, 0], scores=torch.ones(len(keys)),
                                is_thing=keys[:, 0] < self.num_things, embeds=embeds)
        return ClipPrediction(sem_seg=sem, segment_map=segment_map, segments=segments)

    def loss(self, inputs, data_samples, **kwargs):
        raise NotImplementedError('test segmenter: inference only')


def clip_sample(frame_ids, key_inds=None, video='video_a'):
    frames = [DetDataSample(metainfo=dict(frame_id=t, video_name=video, ori_shape=(H, W),
                                          img_path=f'{video}/{t}.jpg')) for t in frame_ids]
    sample = TrackDataSample()
    sample.video_data_samples = frames
    if key_inds is not None:
        sample.set_metainfo(dict(key_frames_inds=key_inds,
                                 ref_frames_inds=[i for i in range(len(frames))
                                                  if i not in key_inds]))
    return torch.zeros(1, len(frame_ids), 3, H, W), [sample]


def prediction(frames, segments):
    """A clip prediction of ``len(frames)`` frames: each frame a list of (class, is_thing,
    column range, embed) per segment index k = position + 1; stuff class 3 elsewhere."""
    num = len(segments)
    sem = torch.full((len(frames), H, W), 3)
    segment_map = torch.zeros(len(frames), H, W, dtype=torch.long)
    for t, present in enumerate(frames):
        for k in present:
            label, _, (x1, x2), _ = segments[k - 1]
            sem[t, 2:6, x1:x2] = label
            segment_map[t, 2:6, x1:x2] = k
    stuff = num + 1
    segment_map[sem == 3] = stuff
    labels = [s[0] for s in segments] + [3]
    return ClipPrediction(
        sem_seg=sem, segment_map=segment_map,
        segments=InstanceData(
            labels=torch.tensor(labels), scores=torch.linspace(0.9, 0.5, num + 1),
            is_thing=torch.tensor([s[1] for s in segments] + [False]),
            embeds=torch.tensor([s[3] for s in segments] + [[0., 0.]])))


def panoptic(sample, t):
    pan = sample.video_data_samples[t].pred_panoptic_seg.sem_seg
    assert pan.shape == (1, H, W) and pan.dtype == torch.long
    return pan[0]


MEMORY = dict(type='HiLAMemoryBuffer')


def test_overlap_stitching_then_memory():
    """T = 2, overlap 1, frames 0-2. In clip (1, 2) the object keeps its mask on the shared
    frame 1 but its embedding turns orthogonal: only stitching can keep its id."""
    a, a_new = (0, True, (2, 5), [1., 0.]), (0, True, (2, 5), [0., 1.])
    clip0 = prediction([[1], [1]], [a])
    # clip 1 also predicts, on the shared frame only, a class-1 thing (ignored: not output)
    clip1 = prediction([[1, 2], [1]], [a_new, (1, True, (7, 9), [1., 1.])])
    for use_stitching, expected in ((True, 1), (False, 2)):
        model = ScriptedSegmenter([clip0, clip1], tracker=MEMORY, use_stitching=use_stitching)
        out0 = model.predict(*clip_sample([0, 1]))[0]
        out1 = model.predict(*clip_sample([1, 2], key_inds=[1]))[0]
        pan0, pan1, pan2 = panoptic(out0, 0), panoptic(out0, 1), panoptic(out1, 1)
        assert pan0[3, 3] == 0 + 1 * INSTANCE_OFFSET and pan1[3, 3] == 0 + INSTANCE_OFFSET
        assert pan2[3, 3] == 0 + expected * INSTANCE_OFFSET
        assert pan2[0, 0] == 3  # stuff: track 0
        # the shared frame is the earlier clip's output, again (not clip 1's class-1 thing)
        assert torch.equal(panoptic(out1, 0), pan1)
        assert out1.video_data_samples[0].pred_track_instances.instances_id.tolist() == [1]
        # the class-1 tube exists only on the shared frame: no id, not in the memory
        assert model.tracker.num_entries == (1 if use_stitching else 2)
        instances = out1.video_data_samples[1].pred_track_instances
        assert instances.instances_id.tolist() == [expected]
        assert instances.labels.tolist() == [0]
        assert instances.scores.tolist() == pytest.approx([0.9])


def test_near_online_reidentifies_after_an_occlusion():
    """The object is absent on frames 2 and 3 (no overlap to stitch) and comes back on frame 4:
    the memory gives it its id again; a new object on frame 4 gets a new id."""
    a, b = (0, True, (2, 5), [1., 0.]), (0, True, (7, 10), [0., 1.])
    clips = [prediction([[1], [1]], [a]), prediction([[1], []], [a]),
             prediction([[], []], [a]), prediction([[], [1, 2]], [a, b])]
    model = ScriptedSegmenter(clips, tracker=MEMORY)
    outs = [model.predict(*clip_sample([0, 1]))[0]]
    for start in (1, 2, 3):
        outs.append(model.predict(*clip_sample([start, start + 1], key_inds=[1]))[0])
    assert [int(panoptic(out, 1)[3, 3]) for out in outs] == [1000, 3, 3, 1000]
    assert int(panoptic(outs[-1], 1)[3, 8]) == 2000
    assert [call[-1] for call in model.calls] == [1, 2, 3, 4]


def test_online_clips_of_one_frame_use_the_memory():
    a = (0, True, (2, 5), [1., 0.])
    b = (1, True, (7, 10), [0., 1.])
    clips = [prediction([[1, 2]], [a, b]), prediction([[1, 2]], [b, a]),
             prediction([[1]], [b, a]), prediction([[1, 2]], [a, b])]
    model = ScriptedSegmenter(clips, tracker=MEMORY)
    ids = []
    for t in range(4):
        out = model.predict(*clip_sample([t]))[0]
        pan = panoptic(out, 0)
        ids.append((int(pan[3, 3]), int(pan[3, 8])))
    # a keeps id 1, b id 2 whatever the segment order; frame 2 has no a
    assert ids == [(1000, 2001), (1000, 2001), (3, 2001), (1000, 2001)]
    assert model._previous_outputs == {}  # online: nothing is kept for overlaps


def test_reset_per_video_and_bad_clips():
    a = (0, True, (2, 5), [1., 0.])
    clips = [prediction([[1]], [a]), prediction([[1]], [(0, True, (6, 9), [0., 1.])]),
             prediction([[1]], [a])]
    model = ScriptedSegmenter(clips, tracker=MEMORY)
    model.predict(*clip_sample([0]))
    model.predict(*clip_sample([1]))
    assert model.tracker.next_id == 3
    out = model.predict(*clip_sample([0], video='video_b'))[0]
    assert panoptic(out, 0)[3, 3] == INSTANCE_OFFSET  # ids restart
    assert model.tracker.num_entries == 1 and model._video == 'video_b'
    with pytest.raises(ValueError, match='not predicted'):  # overlap of an unseen clip
        model.predict(*clip_sample([4, 5], key_inds=[1], video='video_c'))
    with pytest.raises(ValueError, match='last frames'):
        model.predict(*clip_sample([0, 1], key_inds=[0], video='video_d'))
    with pytest.raises(ValueError, match='one clip per call'):
        model.predict(torch.zeros(2, 1, 3, H, W), clip_sample([0])[1] * 2)
    model = ScriptedSegmenter([prediction([[1]], [a])])
    with pytest.raises(ValueError, match='need a tracker'):
        model.predict(*clip_sample([0]))
    model = ScriptedSegmenter([prediction([[1], [1]], [a])], tracker=MEMORY)
    with pytest.raises(ValueError, match='2 frames for a clip of 1'):
        model.predict(*clip_sample([0]))


def test_clip_prediction_checks():
    with pytest.raises(ValueError, match='one shape'):
        ClipPrediction(torch.zeros(2, H, W), torch.zeros(1, H, W),
                       InstanceData(labels=torch.zeros(0), scores=torch.zeros(0),
                                    is_thing=torch.zeros(0)))
    with pytest.raises(ValueError, match=r'\[0, 0\]'):
        ClipPrediction(torch.zeros(1, H, W), torch.ones(1, H, W, dtype=torch.long),
                       InstanceData(labels=torch.zeros(0), scores=torch.zeros(0),
                                    is_thing=torch.zeros(0)))
    with pytest.raises(ValueError, match='lack'):
        ClipPrediction(torch.zeros(1, H, W), torch.zeros(1, H, W), InstanceData())


def near_online_run(root, video_frames, clip_length=2, clip_overlap=1, tracker=MEMORY,
                    use_stitching=True, num_videos=2):
    generate_synthetic_vps(str(root), num_train_videos=0, num_val_videos=num_videos,
                           num_frames=video_frames, height=48, width=80, seed=5)
    pipeline = [
        dict(type='VideoClipSample', clip_length=clip_length, clip_overlap=clip_overlap,
             test_mode=True),
        dict(type='TransformBroadcaster', transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True)]),
        dict(type='PackVideoPanopticInputs'),
    ]
    dataset = SyntheticVPSDataset(data_root=str(root), ann_file='val.txt',
                                  data_prefix=dict(img='imgs/', seg='panomasks/'),
                                  test_mode=True, pipeline=pipeline)
    sampler = VideoBalancedTestSampler(dataset, clip_length=clip_length,
                                       clip_overlap=clip_overlap)
    meta = dataset.metainfo
    model = GroundTruthSegmenter(
        len(meta['thing_classes']), len(meta['classes']), tracker=tracker,
        use_stitching=use_stitching, data_preprocessor=dict(type='TrackDataPreprocessor')).eval()
    return dataset, sampler, model


@pytest.mark.parametrize('use_stitching, match_threshold, perfect', [
    (True, 0.7, True),  # HiLA-MB: stitching, then the memory
    (False, 0.7, True),  # memory only (the T = 2 ablation)
    (False, 1.5, False),  # no association at all: a control that the metric sees id switches
])
def test_near_online_ground_truth_through_the_real_data_flow(tmp_path, use_stitching,
                                                             match_threshold, perfect):
    dataset, sampler, model = near_online_run(
        tmp_path / 'synth', video_frames=7,
        tracker=dict(type='HiLAMemoryBuffer', match_threshold=match_threshold),
        use_stitching=use_stitching)
    evaluator = Evaluator(dict(type='VideoPanopticMetric', windows='vipseg'))
    evaluator.dataset_meta = dataset.metainfo
    predicted, previous = {}, {}
    with torch.no_grad():
        for index in sampler:
            data = pseudo_collate([dataset[index]])
            outputs = model.test_step(data)
            sample = outputs[0]
            frames = list(sample)
            key_inds = sample.key_frames_inds
            for i, frame in enumerate(frames):
                pan = frame.pred_panoptic_seg.sem_seg
                assert pan.shape == frame.gt_panoptic_seg.sem_seg.shape
                if i in key_inds:
                    predicted.setdefault(frame.video_name, []).append(frame.frame_id)
                    previous[frame.video_name, frame.frame_id] = pan
                else:  # an overlap frame repeats the earlier clip's output
                    assert torch.equal(pan, previous[frame.video_name, frame.frame_id])
            evaluator.process(data_samples=outputs, data_batch=data)
            assert len(model._previous_outputs) <= 1
    # every frame predicted exactly once, in order
    assert sorted(predicted.values()) == [list(range(7))] * 2
    metrics = evaluator.evaluate(len(sampler))
    assert metrics['vps/PQ'] == pytest.approx(100.0)
    for name in ('vps/VPQ', 'vps/STQ', 'vps/AQ'):
        if perfect:
            assert metrics[name] == pytest.approx(100.0), name
        else:
            assert metrics[name] < 90, name


def test_near_online_state_is_bounded(tmp_path):
    """On a 24-frame video: the memory holds at most the 4 synthetic tracks (GT association
    never starts a spurious track) and only one overlap frame's output is kept."""
    dataset, sampler, model = near_online_run(tmp_path / 'synth', video_frames=24, num_videos=1)
    entries, track_ids = [], set()
    assert len(sampler) == 23
    with torch.no_grad():
        for index in sampler:
            outputs = model.test_step(pseudo_collate([dataset[index]]))
            entries.append(model.tracker.num_entries)
            assert list(model._previous_outputs) == [outputs[0][-1].frame_id]
            for frame in outputs[0]:
                track_ids.update(frame.pred_track_instances.instances_id.tolist())
    assert max(entries) <= 4
    # ids are never re-issued: as many ids as GT tracks
    assert len(track_ids) == model.tracker.next_id - 1 <= 4

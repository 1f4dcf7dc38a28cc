"""TCBSegmentor: clip training loss, causal stream inference equal to clip inference on past
frames, bounded state, the released test mode, and a one-clip overfit; the training sampler."""
import random

import pytest
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.structures import PixelData

from mmvps.datasets.transforms import TemporalOffsetFrameSample
from mmvps.registry import MODELS
from mmvps.utils import register_all_modules

register_all_modules()
K = 5


def tiny_model(head='ocr', ref_offsets=(3, 6, 9), memory=None, inference='stream', seed=0):
    torch.manual_seed(seed)
    if head == 'ocr':
        decode_head = dict(type='STOCRHead', in_channels=64, num_classes=K, channels=16,
                           key_channels=8)
    else:
        decode_head = dict(type='STPPMHead', in_channels=64, num_classes=K, channels=8)
    return MODELS.build(dict(
        type='TCBSegmentor',
        backbone=dict(type='ResNet', depth=18, base_channels=8, strides=(1, 2, 1, 1),
                      dilations=(1, 1, 2, 4), out_indices=(2, 3), norm_eval=False,
                      init_cfg=None),
        aux_head=dict(type='FCNAuxHead', in_channels=32, channels=16, num_classes=K),
        decode_head=decode_head,
        ref_offsets=ref_offsets,
        inference=inference,
        memory=memory))


def frame_sample(frame_id, shape, video='v0', length=None, label=None):
    frame = DetDataSample(metainfo=dict(
        frame_id=frame_id, video_name=video, img_path=f'{video}/{frame_id}.jpg', img_shape=shape,
        ori_shape=shape, batch_input_shape=shape, ori_video_length=length))
    if label is not None:
        frame.gt_sem_seg = PixelData(sem_seg=label[None])
    return frame


def track_sample(frames, key=None):
    sample = TrackDataSample()
    sample.video_data_samples = frames
    key = list(range(len(frames))) if key is None else key
    sample.set_metainfo(dict(key_frames_inds=key,
                             ref_frames_inds=[i for i in range(len(frames)) if i not in key]))
    return sample


@pytest.mark.parametrize('head', ['ppm', 'ocr'])
def test_stream_equals_clip_inference_on_past_frames(head):
    model = tiny_model(head).eval()
    video = torch.randn(13, 3, 32, 48)
    model.reset_video('v0')
    with torch.no_grad():
        for t in range(13):
            streamed = model.stream_logits(video[t:t + 1], t)
            clip = video[[t] + [max(t - d, 0) for d in (3, 6, 9)]][None]
            assert torch.allclose(streamed, model.clip_logits(clip)[0], atol=1e-5), t
        # the image model (no references) is the clip of one frame
        image = tiny_model(head, ref_offsets=()).eval()
        image.load_state_dict(model.state_dict())
        image.reset_video('v0')
        assert torch.allclose(image.stream_logits(video[:1], 0),
                              model.clip_logits(video[:1][None])[0], atol=1e-6)


def test_predict_streams_a_video_into_semantic_maps():
    model = tiny_model('ocr').eval()
    video = torch.randn(6, 3, 32, 48)
    with torch.no_grad():
        outs = []
        for t in range(6):
            sample = track_sample([frame_sample(t, (32, 48))])
            outs.append(model.predict(video[t][None, None], [sample])[0])
        clip = video[[5, 2, 0, 0]][None]
        expected = F.interpolate(model.clip_logits(clip)[0], size=(32, 48), mode='bilinear',
                                 align_corners=False).argmax(1)[0]
    pan = outs[5].video_data_samples[0].pred_panoptic_seg.sem_seg[0]
    assert pan.shape == (32, 48)
    assert torch.equal(pan, expected)  # semantic label, stuff, track 0
    assert len(outs[5].video_data_samples[0].pred_track_instances) == 0
    # a new video starts with an empty cache
    model.predict(video[0][None, None], [track_sample([frame_sample(0, (32, 48), 'v1')])])
    assert len(model.cache) == 1 and model.cache.video == 'v1'


def test_stream_state_is_bounded_in_video_length():
    model = tiny_model('ocr', memory=dict(type='ObjectRegionMemory', mode='window', size=8)).eval()
    model.reset_video('v0')
    sizes = []
    with torch.no_grad():
        for t in range(40):
            model.stream_logits(torch.randn(1, 3, 16, 16), t)
            sizes.append((len(model.cache), model.memory.num_stored))
    assert sizes[-1] == (10, 8) and set(sizes[20:]) == {(10, 8)}


def test_window_memory_blends_the_last_frames_regions():
    model = tiny_model('ocr', memory=dict(type='ObjectRegionMemory', mode='window', size=3))
    model.eval()
    video = torch.randn(6, 3, 32, 48)
    model.reset_video('v0')
    with torch.no_grad():
        regions = [model.frame_features(video[t:t + 1])[2][0] for t in range(6)]
        for t in range(6):
            out = model.stream_logits(video[t:t + 1], t)
        pixels = model.frame_features(video[5:6])[1]
        expected = model.decode_head.decode(pixels, torch.stack(regions[3:]).mean(0)[None])
    assert torch.allclose(out, expected, atol=1e-5)


def test_release_mode_uses_future_references_and_the_whole_video():
    model = tiny_model('ocr', inference='release').eval()
    assert model.release_reference_ids(0, 20) == [3, 6, 9]
    assert model.release_reference_ids(10, 20) == [13, 16, 19]
    assert model.release_reference_ids(11, 20) == [8, 5, 2]
    assert model.release_reference_ids(2, 5) == [0, 0, 0]
    video = torch.randn(12, 3, 32, 48)
    frames = [frame_sample(t, (32, 48), length=12) for t in range(12)]
    with torch.no_grad():
        clip = model.segment_clip(video[None], track_sample(frames))
        for t in (0, 2, 5):
            refs = model.release_reference_ids(t, 12)
            logits = model.clip_logits(video[[t] + refs][None])[0]
            expected = F.interpolate(logits, size=(32, 48), mode='bilinear',
                                     align_corners=False).argmax(1)[0]
            assert torch.equal(clip.sem_seg[t], expected)
        with pytest.raises(ValueError, match='whole video'):
            model.segment_clip(video[None, :4], track_sample(frames[:4]))


def test_first_clip_memory_in_release_mode():
    model = tiny_model('ocr', inference='release',
                       memory=dict(type='ObjectRegionMemory', mode='first_clip')).eval()
    video = torch.randn(12, 3, 32, 48)
    frames = [frame_sample(t, (32, 48), length=12) for t in range(12)]
    model.reset_video('v0')
    with torch.no_grad():
        sem = model.segment_clip(video[None], track_sample(frames)).sem_seg
        regions = torch.stack([model.frame_features(video[t:t + 1])[2][0] for t in range(12)])
        pixels = model.frame_features(video[1:2])[1]
        blended = 0.5 * regions[[0, 3, 6, 9]].mean(0) + 0.5 * regions[[1, 4, 7, 10]].mean(0)
        logits = model.decode_head.decode(pixels, blended[None])
    expected = F.interpolate(logits, size=(32, 48), mode='bilinear',
                             align_corners=False).argmax(1)[0]
    assert torch.equal(sem[1], expected)


def test_memory_needs_the_ocr_head():
    with pytest.raises(ValueError, match='STOCRHead'):
        tiny_model('ppm', memory=dict(type='ObjectRegionMemory'))


def test_loss_ignores_255_and_averages_over_valid_pixels():
    model = tiny_model('ppm', ref_offsets=(1, )).eval()  # eval: no dropout, fixed BN
    inputs = torch.randn(2, 2, 3, 32, 48)
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, K, (2, 2, 32, 48), generator=gen)
    labels[torch.rand(labels.shape, generator=gen) < 0.4] = 255
    labels[:, :, :, :5] = 255
    samples = [track_sample([frame_sample(j, (32, 48), label=labels[i, j]) for j in range(2)],
                            key=[0]) for i in range(2)]
    losses = model.loss(inputs, samples)
    logits, aux = model.clip_logits(inputs)
    up = dict(size=(32, 48), mode='bilinear', align_corners=False)

    def mean_nll(logit, label):
        logp = torch.log_softmax(F.interpolate(logit, **up), dim=1)
        valid = label != 255
        picked = logp.gather(1, label.clamp(max=K - 1)[:, None])[:, 0]
        return -(picked[valid]).sum() / valid.sum()

    assert torch.allclose(losses['loss_decode'], mean_nll(logits, labels[:, 0]), atol=1e-5)
    assert torch.allclose(losses['loss_aux'], 0.4 * mean_nll(aux, labels.flatten(0, 1)),
                          atol=1e-5)


def test_one_clip_overfits():
    model = tiny_model('ocr', ref_offsets=(1, 2))
    torch.manual_seed(0)
    clip = torch.randn(1, 3, 3, 32, 48).expand(2, -1, -1, -1, -1)  # BN needs 2 clips
    label = torch.zeros(32, 48, dtype=torch.long)
    label[:, 24:] = 1
    label[10:20, 5:15] = 3
    samples = [track_sample([frame_sample(j, (32, 48), label=label) for j in range(3)], key=[0])
               for _ in range(2)]
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(40):
        losses = model.loss(clip, samples)
        total = losses['loss_decode'] + losses['loss_aux']
        first = total.item() if first is None else first
        optim.zero_grad()
        total.backward()
        optim.step()
    assert total.item() < 0.1 * first, (first, total.item())


def test_temporal_offset_sampler_offsets_reversal_and_padding():
    sampler = TemporalOffsetFrameSample(offsets=(3, 6, 9), reverse_prob=0.5)
    assert sampler.frame_ids(20, False, key_frame_id=2) == [2, 5, 8, 11]
    assert sampler.frame_ids(20, False, key_frame_id=15) == [10, 13, 16, 19]  # moved back
    assert sampler.frame_ids(20, True, key_frame_id=17) == [17, 14, 11, 8]
    assert sampler.frame_ids(20, True, key_frame_id=3) == [9, 6, 3, 0]
    assert sampler.frame_ids(5, False) == [0, 3, 4, 4]  # short video repeats its last frame
    assert sampler.frame_ids(5, True) == [4, 1, 0, 0]
    random.seed(0)
    seen = set()
    for _ in range(300):
        ids = sampler.frame_ids(15, random.random() < 0.5)
        step = ids[1] - ids[0]
        assert step in (3, -3) and ids == [ids[0] + step * i for i in range(4)]
        assert all(0 <= i < 15 for i in ids)
        seen.add(ids[0])
    assert seen == set(range(6)) | set(range(9, 15))  # every admissible target, both ways

    video = dict(video_id=0, video_length=12, images=[
        dict(img_path=f'{t}.jpg', frame_id=t) for t in range(12)])
    random.seed(1)
    out = TemporalOffsetFrameSample(offsets=(1, 2), reverse_prob=0.).transform(video)
    assert out['key_frame_flags'] == [True, False, False]
    assert [f - out['frame_id'][0] for f in out['frame_id']] == [0, 1, 2]
    assert out['video_length'] == [3] * 3 and out['ori_video_length'] == [12] * 3
    single = TemporalOffsetFrameSample(offsets=(), reverse_prob=0.).transform(video)
    assert len(single['frame_id']) == 1
    with pytest.raises(ValueError, match='reverse_prob'):
        TemporalOffsetFrameSample(reverse_prob=2)

"""Video K-Net: kernel linking, kernel fusion, the video model's training and online inference."""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint, save_checkpoint
from mmengine.structures import InstanceData, PixelData

from mmvps.models.heads import KernelFusion, KernelLinking, get_panoptic_gt
from mmvps.registry import MODELS
from mmvps.structures import INSTANCE_OFFSET
from mmvps.utils import register_all_modules

register_all_modules()
REPO_ROOT = Path(__file__).resolve().parents[2]

H, W = 64, 96
NUM_THINGS, NUM_STUFF = 3, 3  # the tiny K-Net's synthetic classes


def tiny_cfg(fusion=True, linking=True):
    cfg = Config.fromfile(REPO_ROOT / 'configs/_base_/models/video_knet_r18_tiny.py').model
    cfg.detector.kernel_head.num_proposals = 8
    cfg.detector.kernel_iter_head.num_proposals = 8
    if not fusion:
        cfg.detector.kernel_iter_head.kernel_fusion = None
    if not linking:
        cfg.kernel_linking = None
    return cfg


def build(cfg, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def frame(t, frame_id=None, video='video_a'):
    """A 64x96 frame: two stuff regions, a square (class 0) moving right and a disc-like block
    (class 1) moving left."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:32] = (200, 120, 60)
    img[32:] = (40, 160, 40)
    sem = np.full((H, W), NUM_THINGS, np.uint8)
    sem[32:] = NUM_THINGS + 1
    masks = []
    for x, y, label, colour in ((8 + 4 * t, 8, 0, (0, 0, 255)), (64 - 4 * t, 36, 1, (255, 255, 0))):
        mask = np.zeros((H, W), np.uint8)
        mask[y:y + 18, x:x + 18] = 1
        img[mask > 0] = colour
        sem[mask > 0] = label
        masks.append(mask)
    sample = DetDataSample(metainfo=dict(
        img_shape=(H, W), ori_shape=(H, W), frame_id=t if frame_id is None else frame_id,
        video_name=video, img_path=f'{video}/{t:03d}.jpg'))
    sample.gt_instances = InstanceData(
        labels=torch.tensor([0, 1]), masks=BitmapMasks(np.stack(masks), H, W),
        instances_ids=torch.tensor([0 + 1 * INSTANCE_OFFSET, 1 + 2 * INSTANCE_OFFSET]))
    sample.gt_sem_seg = PixelData(sem_seg=torch.from_numpy(sem.astype(np.int64))[None])
    return torch.from_numpy(img).permute(2, 0, 1), sample


def train_batch(model, key_t, ref_t):
    (key_img, key), (ref_img, ref) = frame(key_t), frame(ref_t)
    sample = TrackDataSample()
    sample.video_data_samples = [ref, key]
    sample.set_metainfo(dict(key_frames_inds=[1], ref_frames_inds=[0]))
    return model.data_preprocessor(
        dict(inputs=[torch.stack([ref_img, key_img])], data_samples=[sample]), True)


def predict_batch(model, t, **kwargs):
    img, sample = frame(t, **kwargs)
    track_sample = TrackDataSample()
    track_sample.video_data_samples = [sample]
    return model.data_preprocessor(dict(inputs=[img[None]], data_samples=[track_sample]), False)


def test_kernel_linking_shapes_and_dependence_on_reference():
    torch.manual_seed(0)
    linking = KernelLinking(in_channels=16, num_heads=2, feedforward_channels=32)
    key, ref = torch.randn(5, 16), torch.randn(3, 16)
    linked = linking(key, ref)
    assert linked.shape == (5, 16)
    assert linking(key[None], ref[None]).shape == (1, 5, 16)
    assert torch.allclose(linking(key[None], ref[None])[0], linked, atol=1e-6)
    # the reference kernels are propagated into the key kernels
    assert not torch.allclose(linking(key, torch.randn(3, 16)), linked)
    # each key kernel is linked independently: a subset of queries gives the same rows
    assert torch.allclose(linking(key[:2], ref), linked[:2], atol=1e-6)
    # without reference kernels a frame links to itself
    assert torch.allclose(linking(key, None), linking(key, key), atol=1e-6)
    assert torch.allclose(linking(key, torch.zeros(0, 16)), linking(key, key), atol=1e-6)
    with pytest.raises(ValueError, match='16-channel'):
        linking(torch.randn(5, 8), ref)


def test_kernel_fusion_shapes_and_update_step():
    torch.manual_seed(0)
    fusion = KernelFusion(
        in_channels=16, num_heads=2, feedforward_channels=32,
        kernel_updator_cfg=dict(type='KernelUpdator', in_channels=16, feat_channels=16))
    kernels, previous = torch.randn(2, 7, 16), torch.randn(2, 5, 16)
    feats = torch.randn(2, 16, 6, 8)
    fused = fusion(kernels, previous, feats)
    assert fused.shape == (2, 7, 16)
    assert fusion.update_previous(previous, feats).shape == (2, 5, 16)
    # the previous kernels are updated on the current features: other features, other result
    assert not torch.allclose(fusion(kernels, previous, torch.randn(2, 16, 6, 8)), fused)
    assert not torch.allclose(fusion(kernels, torch.randn(2, 5, 16), feats), fused)
    with pytest.raises(ValueError, match='KernelFusion expects'):
        fusion(kernels, torch.randn(1, 5, 16), feats)


def test_fusion_on_off_in_the_iter_head():
    """The iter head calls the fusion only with previous kernels; without it they are ignored."""
    with_fusion, without = build(tiny_cfg(fusion=True)), build(tiny_cfg(fusion=False))
    without.load_state_dict(with_fusion.state_dict(), strict=False)
    img = train_batch(with_fusion, 2, 3)['inputs'][:, 0]
    previous = torch.randn(1, 8 + NUM_STUFF, 64)
    for model in (with_fusion, without):
        model.eval()
    with torch.no_grad():
        outputs = {}
        for name, model in (('on', with_fusion), ('off', without)):
            det = model.detector
            kernels, feats, masks = det.kernel_head(det.extract_feat(img))
            outputs[name] = [
                det.kernel_iter_head(feats, kernels, masks, previous_kernels=prev)[-1][0]
                for prev in (None, previous)
            ]
    # fusion off: identical to K-Net with or without previous kernels, and equal to fusion-on
    # without previous kernels (first frame)
    assert torch.equal(outputs['off'][0], outputs['off'][1])
    assert torch.allclose(outputs['on'][0], outputs['off'][0], atol=1e-5)
    # fusion on: the previous kernels change the last stage
    assert not torch.allclose(outputs['on'][1], outputs['on'][0], atol=1e-3)


def test_tensor_forward_shapes_and_linking_on_off():
    with_linking = build(tiny_cfg(linking=True))
    without = build(tiny_cfg(linking=False))
    without.load_state_dict(with_linking.state_dict(), strict=False)
    inputs = train_batch(with_linking, 2, 3)['inputs']
    with torch.no_grad():
        outs = {name: model(inputs, mode='tensor')
                for name, model in (('on', with_linking.eval()), ('off', without.eval()))}
    cls_scores, mask_preds, embeds = outs['on'][:3]
    assert len(outs['on']) == 6  # two frames
    assert cls_scores.shape == (1, 8 + NUM_STUFF, NUM_THINGS + NUM_STUFF)
    assert mask_preds.shape == (1, 8 + NUM_STUFF, H // 4, W // 4)
    assert embeds.shape == (1, 8, 64)
    # segmentation is untouched by linking; the embeddings are not
    assert torch.allclose(outs['on'][0], outs['off'][0]) and torch.allclose(outs['on'][4],
                                                                             outs['off'][4])
    assert not torch.allclose(outs['on'][2], outs['off'][2])


def test_loss_keys_and_overfit():
    model = build(tiny_cfg())
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    totals = []
    for it in range(14):
        data = train_batch(model, it % 4, it % 4 + 1)
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        totals.append(loss.item())
    assert {'loss_track', 'loss_track_aux', 's2.loss_cls', 'ref_s2.loss_dice',
            'loss_init_mask', 'ref_loss_init_mask'} <= set(losses)
    assert all(np.isfinite(totals))
    assert np.mean(totals[-3:]) < 0.5 * np.mean(totals[:3])


def test_association_samples_follow_gt_tracks():
    model = build(tiny_cfg())
    data = train_batch(model, 2, 3)
    key = data['data_samples'][0].get_key_frames()[0]
    _, results = model.detector.loss_and_kernels(data['inputs'][:, 1], [key])
    result = results[0]
    # make every matched thing kernel predict its GT mask exactly: all become samples with
    # their GT label and track id
    masks = result.mask_preds.detach().clone()
    gt_small = get_panoptic_gt(key, NUM_THINGS, NUM_STUFF, masks.shape[-2:]).masks > 0.5
    matched = torch.nonzero(result.assigned_instances_ids[:8] > 0).squeeze(1)
    for i in matched.tolist():
        masks[i] = torch.where(gt_small[result.assigned_gt_inds[i]], 20., -20.)
    result.mask_preds = masks
    kernels, matched_kernels, labels, ids, _ = model._thing_samples(result, key)
    assert len(kernels) == len(matched_kernels) == len(matched) == 2
    assert sorted(zip(labels.tolist(), ids.tolist())) == [(0, 1000), (1, 2001)]


def test_predict_writes_track_ids_and_resets():
    cfg = tiny_cfg(fusion=False)
    # keep every thing kernel (untrained scores are low) and start a track for each
    cfg.detector.test_cfg.update(instance_score_thr=0.0)
    cfg.tracker.update(init_score_thr=0.0, obj_score_thr=0.0, match_metric='cosine')
    model = build(cfg).eval()
    all_ids = []
    with torch.no_grad():
        for frame_id in range(3):  # the same image three times: the same tracks
            out = model(**predict_batch(model, 2, frame_id=frame_id), mode='predict')
            det = out[0][0]
            assert 'pred_kernels' not in det and 'pred_instances' not in det
            pan = det.pred_panoptic_seg.sem_seg
            assert pan.shape == (1, H, W) and pan.dtype == torch.long
            sem, inst = pan % INSTANCE_OFFSET, pan // INSTANCE_OFFSET
            assert (sem <= NUM_THINGS + NUM_STUFF).all()
            assert (inst[sem >= NUM_THINGS] == 0).all()  # stuff and void keep instance 0
            ids = det.pred_track_instances.instances_id
            assert (ids > 0).all() and len(ids) > 0
            assert set(inst[sem < NUM_THINGS].unique().tolist()) == set(ids.tolist())
            all_ids.append(sorted(ids.tolist()))
        assert all_ids[0] == all_ids[1] == all_ids[2]
        # a new video restarts the ids
        model(**predict_batch(model, 2, frame_id=0, video='video_b'), mode='predict')
        assert model.tracker.num_tracks == len(all_ids[0])


def test_online_state_is_bounded():
    cfg = tiny_cfg()
    cfg.detector.test_cfg.update(instance_score_thr=0.0)
    cfg.tracker.update(init_score_thr=0.0, obj_score_thr=0.0, num_frames_retain=3)
    model = build(cfg).eval()
    sizes = []
    with torch.no_grad():
        for frame_id in range(12):
            model(**predict_batch(model, frame_id % 6, frame_id=frame_id), mode='predict')
            sizes.append(model.tracker.memory_size)
            assert model._previous_kernels.shape == (1, 8 + NUM_STUFF, 64)
            assert len(model._previous_thing_kernels) <= 8
    assert max(sizes) <= 3 * 8 + 8


def test_checkpoint_round_trip(tmp_path):
    model = build(tiny_cfg())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss, _ = model.parse_losses(model(**train_batch(model, 1, 2), mode='loss'))
    loss.backward()
    optimizer.step()
    path = tmp_path / 'video_knet.pth'
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, str(path))
    restored = build(tiny_cfg(), seed=1)
    load_checkpoint(restored, str(path), map_location='cpu', strict=True)
    for (name, value), (_, other) in zip(model.state_dict().items(),
                                         restored.state_dict().items()):
        assert torch.equal(value, other), name
    model.eval()
    restored.eval()
    with torch.no_grad():
        data = predict_batch(model, 3, frame_id=0)
        first = model(**copy.deepcopy(data), mode='predict')[0][0].pred_panoptic_seg.sem_seg
        second = restored(**data, mode='predict')[0][0].pred_panoptic_seg.sem_seg
    assert torch.equal(first, second)


def test_bad_inputs():
    model = build(tiny_cfg())
    data = train_batch(model, 1, 2)
    data['data_samples'][0].set_metainfo(dict(ref_frames_inds=[]))
    with pytest.raises(ValueError, match='one key and one reference frame'):
        model(**data, mode='loss')
    with pytest.raises(ValueError, match='one video sample per call'):
        model(torch.zeros(2, 1, 3, H, W), [TrackDataSample(), TrackDataSample()],
              mode='predict')

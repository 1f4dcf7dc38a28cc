"""Video K-Net's VSS mode (video semantic segmentation, VSPW): stuff kernels only, kernel
fusion, no tracker; the semantic paste; the VSPW and synthetic VSS configs."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmvps.datasets import generate_synthetic_vss
from mmvps.models.heads import KernelIterHead
from mmvps.registry import METRICS, MODELS
from mmvps.structures import INSTANCE_OFFSET
from mmvps.utils import register_all_modules

register_all_modules()
REPO_ROOT = Path(__file__).resolve().parents[2]
CPU_CONFIG = REPO_ROOT / 'configs/video_knet/video_knet_r18_synthetic-vss.py'


def semantic_head(**test_cfg):
    return KernelIterHead(
        num_stages=1, stage_loss_weights=(1, ), num_proposals=0, num_thing_classes=0,
        num_stuff_classes=3,
        mask_head=dict(type='KernelUpdateHead', num_classes=3, in_channels=8, num_heads=2,
                       feedforward_channels=16,
                       kernel_updator_cfg=dict(type='KernelUpdator', in_channels=8,
                                               feat_channels=8)),
        test_cfg=dict(merge_mode='semantic', **test_cfg))


def test_semantic_paste_by_hand():
    """Each pixel takes the stuff class of the largest score x sigmoid: a confident mask of a
    low-scoring class loses to a weaker mask of a high-scoring one; no pixel is void."""
    head = semantic_head()
    scores = torch.zeros(3, 3)
    scores[0, 0], scores[1, 1], scores[2, 2] = 0.9, 0.2, 0.6
    masks = torch.full((3, 2, 3), -10.)
    masks[0, 0, :] = 10.  # class 0 on row 0
    masks[1, 1, :] = 10.  # class 1 sure on row 1 ...
    masks[2, 1, 1:] = 0.  # ... class 2 at sigmoid 0.5 there: 0.6 * 0.5 > 0.2 * 1
    meta = dict(batch_input_shape=(2, 3), img_shape=(2, 3), ori_shape=(2, 3))
    pan, segments = head.panoptic_postprocess(scores, masks, meta)
    assert pan.tolist() == [[0, 0, 0], [1, 2, 2]]
    assert len(segments) == 0 and segments.instance_ids.numel() == 0
    # rescaled to a larger original size: still one class per pixel, no void
    pan, _ = head.panoptic_postprocess(scores, masks, dict(meta, ori_shape=(4, 6)))
    assert pan.shape == (4, 6) and set(pan.unique().tolist()) <= {0, 1, 2}


def test_semantic_mode_needs_stuff_only_and_no_tracker():
    with pytest.raises(ValueError, match="merge_mode='semantic' pastes stuff kernels only"):
        KernelIterHead(num_stages=1, stage_loss_weights=(1, ), num_proposals=2,
                       num_thing_classes=1, num_stuff_classes=2,
                       mask_head=dict(type='KernelUpdateHead', num_classes=3, in_channels=8,
                                      num_heads=2, feedforward_channels=16,
                                      kernel_updator_cfg=dict(type='KernelUpdator',
                                                              in_channels=8, feat_channels=8)),
                       test_cfg=dict(merge_mode='semantic'))
    panoptic = Config.fromfile(REPO_ROOT / 'configs/_base_/models/video_knet_r18_tiny.py').model
    with pytest.raises(ValueError, match='track_head and tracker go together'):
        MODELS.build(dict(panoptic, tracker=None))
    with pytest.raises(ValueError, match='needs a detector without thing kernels'):
        MODELS.build(dict(panoptic, tracker=None, track_head=None, kernel_linking=None))


@pytest.fixture(scope='module')
def vss_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('vss') / 'tree'
    generate_synthetic_vss(root, 1, 1, num_frames=3, height=64, width=96, seed=0,
                           hard_prob=0.5)
    val_video = (root / 'val.txt').read_text().split()[0]
    assert 0 < len(json.loads((root / 'hard_frames.json').read_text())[val_video]) < 3
    cfg = Config.fromfile(CPU_CONFIG)
    for key in ('train_dataloader', 'val_dataloader'):
        cfg[key].dataset.data_root = str(root)
    cfg.val_evaluator.frame_subsets = dict(hard=str(root / 'hard_frames.json'))
    with DefaultScope.overwrite_default_scope('mmvps'):
        train = Runner.build_dataloader(cfg.train_dataloader, seed=0)
        val = Runner.build_dataloader(cfg.val_dataloader, seed=0)
        metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = val.dataset.metainfo
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model, train, val, metric


def test_vss_training_step(vss_setup):
    model, train, _, _ = vss_setup
    model.train()
    losses = model(**model.data_preprocessor(next(iter(train)), True), mode='loss')
    assert {'s2.loss_cls', 's2.loss_mask', 'ref_s2.loss_dice', 'loss_init_mask'} <= set(losses)
    assert not any('track' in name for name in losses)
    loss, _ = model.parse_losses(losses)
    loss.backward()
    assert torch.isfinite(loss)
    stuff = model.detector.kernel_head.stuff_kernels.weight
    assert stuff.shape[0] == 6 and stuff.grad is not None and stuff.grad.abs().sum() > 0
    assert model.detector.kernel_head.thing_kernels is None


def test_vss_predict_gives_per_frame_semantic_maps(vss_setup):
    """Online prediction of a 3-frame video: one full semantic map per frame at the original
    size (classes 0..5, no instance, no void) that equals the fused network's argmax, and the
    maps go through VideoSemSegMetric (mIoU on all / hard / clean frames)."""
    model, _, val, metric = vss_setup
    model.eval()
    head = model.detector.kernel_iter_head
    frames = []
    with torch.no_grad():
        for batch in val:
            data = model.data_preprocessor(batch, False)
            inputs = data['inputs']
            out = model(**data, mode='predict')
            metric.process(batch, out)
            frames.append((inputs, out[0][0]))
    assert len(frames) == 3
    clip = torch.cat([inputs for inputs, _ in frames], 1)  # [1, 3, 3, H, W], frames in order
    logits = model._forward(clip)  # fused with the previous frame, as online inference
    assert len(logits) == 2 * 3
    for t, (_, det) in enumerate(frames):
        pan = det.pred_panoptic_seg.sem_seg
        assert pan.shape == (1, 64, 96) and det.frame_id == t
        assert ((pan >= 0) & (pan < 6)).all() and not (pan >= INSTANCE_OFFSET).any()
        assert len(det.pred_track_instances) == 0 and 'pred_kernels' not in det
        expected, _ = head.panoptic_postprocess(logits[2 * t][0].sigmoid(), logits[2 * t + 1][0],
                                                det.metainfo)
        torch.testing.assert_close(pan[0], expected)
    # fusion is used: frame 2 without frame 1 before it gives other logits
    alone = model._forward(clip[:, 2:])
    assert not torch.allclose(alone[1], logits[5])
    results = metric.evaluate()
    assert {'vss/mIoU', 'vss/mIoU_hard', 'vss/mIoU_clean'} <= set(results)
    assert all(0 <= value <= 100 and np.isfinite(value) for value in results.values())


@pytest.mark.parametrize('name', ['video_knet_r50_8xb1-40k_vspw', 'video_knet_r101_8xb1-40k_vspw'])
def test_vspw_configs(name):
    cfg = Config.fromfile(REPO_ROOT / 'configs/video_knet' / f'{name}.py')
    model = MODELS.build(cfg.model)
    head = model.detector.kernel_iter_head
    assert (head.num_proposals, head.num_thing_classes, head.num_stuff_classes) == (0, 0, 124)
    assert head.test_cfg['merge_mode'] == 'semantic' and model.with_kernel_fusion
    assert model.tracker is None and model.track_head is None and model.kernel_linking is None
    assert model.detector.backbone.depth == int(name.split('_')[2][1:])
    assert cfg.train_dataloader.dataset.type == 'VSPWDataset'
    assert cfg.val_evaluator.type == 'VideoSemSegMetric'
    assert cfg.train_cfg.max_iters == 40000

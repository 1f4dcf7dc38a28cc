"""A test-only video segmentor small enough for multi-process CPU runs in seconds.

Two convolutions predict per-pixel class scores for every frame of a ``TrackDataSample``;
training uses cross-entropy on ``gt_sem_seg``; prediction writes ``pred_panoptic_seg`` in the
mmvps convention (docs/conventions.md §5) with one segment per thing class (instance 1).
It exercises the Runner, the data pipeline and the metrics, not a real method.
"""
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from torch import nn

from mmvps.datasets.synthetic import generate_synthetic_vps
from mmvps.registry import HOOKS, MODELS
from mmvps.structures import INSTANCE_OFFSET

REPO_ROOT = Path(__file__).resolve().parents[2]


@MODELS.register_module()
class TinyVideoSegmentor(BaseModel):
    """Per-frame semantic scores from ``conv3x3 -> ReLU -> conv1x1``.

    Args:
        num_classes (int): Number of training labels (things first, then stuff).
        num_things (int): Number of thing classes.
        channels (int): Hidden channels.
        data_preprocessor (dict): mmdet's ``TrackDataPreprocessor`` config.
    """

    def __init__(self, num_classes, num_things, channels=8, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.num_classes = num_classes
        self.num_things = num_things
        self.features = nn.Conv2d(3, channels, 3, padding=1)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def _frame_logits(self, inputs):
        """``[N, T, C, H, W]`` -> ``[N, T, num_classes, H, W]``."""
        num_samples, num_frames = inputs.shape[:2]
        logits = self.classifier(F.relu(self.features(inputs.flatten(0, 1))))
        return logits.view(num_samples, num_frames, *logits.shape[1:])

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self._frame_logits(inputs)
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            return self.loss(logits, data_samples)
        if mode == 'predict':
            return self.predict(logits, data_samples)
        raise RuntimeError(f'invalid mode "{mode}"')

    def loss(self, logits, data_samples):
        losses = []
        for sample_logits, track_sample in zip(logits, data_samples):
            for frame_logits, frame in zip(sample_logits, track_sample.video_data_samples):
                gt = frame.gt_sem_seg.sem_seg.to(logits.device)
                frame_logits = frame_logits[:, :gt.shape[-2], :gt.shape[-1]]
                losses.append(F.cross_entropy(frame_logits[None], gt, ignore_index=255))
        return dict(loss_sem_seg=torch.stack(losses).mean())

    def predict(self, logits, data_samples):
        for sample_logits, track_sample in zip(logits, data_samples):
            for frame_logits, frame in zip(sample_logits, track_sample.video_data_samples):
                height, width = frame.img_shape
                frame_logits = frame_logits[None, :, :height, :width]
                frame_logits = F.interpolate(
                    frame_logits, size=frame.ori_shape, mode='bilinear', align_corners=False)
                sem = frame_logits[0].argmax(dim=0)
                inst = (sem < self.num_things).long()
                frame.pred_panoptic_seg = PixelData(sem_seg=(sem + inst * INSTANCE_OFFSET)[None])
        return data_samples


@HOOKS.register_module()
class InterruptTrainingHook(Hook):
    """Ends the process with exit code 3 right after training iteration ``after_iter``, once
    the checkpoint of that iteration is saved: a job killed mid-schedule, for resume tests."""

    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW)

    def __init__(self, after_iter):
        self.after_iter = after_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.after_iter:
            raise SystemExit(3)


def make_tiny_dataset(root) -> dict:
    """A synthetic VIPSeg-format tree of 2 train + 2 val videos of 4 frames at 48 x 80."""
    return generate_synthetic_vps(str(root), num_train_videos=2, num_val_videos=2, num_frames=4,
                                  height=48, width=80, seed=0)


TINY_CONFIG = """
_base_ = [{datasets!r}, {runtime!r}]
custom_imports = dict(imports=['tiny_model'], allow_failed_imports=False)

# deterministic training samples (clips starting at the sampled frame, no random augmentation),
# so that a resumed run can be compared with an uninterrupted one
train_pipeline = [
    dict(type='VideoClipSample', clip_length=2),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='Resize', scale=(80, 48), keep_ratio=True),
        ]),
    dict(type='PackVideoPanopticInputs')
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False, sampler=dict(type='TrackImgSampler'),
    dataset=dict(data_root={data_root!r}, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root={data_root!r}))
test_dataloader = val_dataloader

model = dict(
    type='TinyVideoSegmentor', num_classes={num_classes}, num_things={num_things},
    data_preprocessor=dict(
        type='TrackDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_size_divisor=8))

train_cfg = dict(type='IterBasedTrainLoop', max_iters=6, val_interval=3)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.0001))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='MultiStepLR', by_epoch=False, milestones=[4], gamma=0.1)
]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(by_epoch=False, interval=3))
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
"""


def write_tiny_config(path, data_root, metainfo) -> str:
    """Write the tiny model's config (on the synthetic base dataset config and mmvps' default
    runtime) to ``path``."""
    configs = REPO_ROOT / 'configs' / '_base_'
    path.write_text(TINY_CONFIG.format(
        datasets=str(configs / 'datasets' / 'synthetic_vps.py'),
        runtime=str(configs / 'default_runtime.py'),
        data_root=str(data_root),
        num_classes=len(metainfo['classes']),
        num_things=len(metainfo['thing_classes'])))
    return str(path)


def tool_env() -> dict:
    """Environment of a tool subprocess: mmvps and this module importable, one thread each."""
    return dict(os.environ, PYTHONPATH=f'{REPO_ROOT}{os.pathsep}{Path(__file__).parent}',
                OMP_NUM_THREADS='1')

# CPU default: a small Video K-Net (ResNet-18, 16 base channels, 64-channel kernels) trained from
# scratch on the synthetic videos (tools/misc/make_synthetic_vps.py data/synthetic_vps) in about
# ten minutes on 2 cores, then evaluated online on the synthetic val split (STQ / VPQ).
_base_ = [
    '../_base_/models/video_knet_r18_tiny.py', '../_base_/datasets/synthetic_vps.py',
    '../_base_/default_runtime.py'
]

# iteration-based AdamW (the paper's optimizer); random initialization and a short schedule
# call for a larger learning rate than the paper's 1e-4
max_iters = 1200
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.8)], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=1, norm_type=2))

train_dataloader = dict(batch_size=1)
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)

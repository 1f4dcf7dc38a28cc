# Video K-Net R-50 in its VSS mode on VSPW (124 semantic classes, no things): stuff kernels only,
# kernel fusion, no tracker (configs/_base_/models/video_knet_r50_vss.py). Data: VSPW_480p, a key
# and a reference frame within 2 frames, scale 0.5-2.0, crop 480x480, flip. The paper (Tab. 4)
# appends the Video K-Net head to DeepLabv3+ / PSPNet R-101 and gives no VSPW schedule (it is in
# the appendix, not available here); this config keeps mmvps' K-Net (Semantic FPN) and the
# paper's AdamW 1e-4 / weight decay 1e-4 with K-Net's gradient clipping, for 40k iterations of
# 8 GPUs x 1 clip (about the TCB recipe's 42k iterations of 8 clips on the same data), lr x0.1
# at 30k. ImageNet initialization.
_base_ = [
    '../_base_/models/video_knet_r50_vss.py', '../_base_/datasets/vspw.py',
    '../_base_/default_runtime.py'
]

max_iters = 40000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.75)], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, weight_decay=0.0001),
    clip_grad=dict(max_norm=1, norm_type=2))
# base_batch_size = 8 GPUs x 1 video sample per GPU; tools/train.py --auto-scale-lr enables it
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters // 4))
log_processor = dict(by_epoch=False)
train_dataloader = dict(batch_size=1)

# CPU Video K-Net in its VSS mode on the synthetic video semantic set (VSPW layout, hard frames):
# the tiny Video K-Net of video_knet_r18_synthetic.py (ResNet-18, 16 base channels, 64-channel
# kernels) with stuff kernels only (one per class), kernel fusion, no linking / embedding /
# tracker, per-pixel argmax paste. Reports mIoU, mVC8, mVC16 and mIoU on hard / clean frames.
# Make the data with `python tools/misc/make_synthetic_vps.py data/synthetic_vss --format vspw`.
_base_ = [
    '../_base_/models/video_knet_r18_tiny.py', '../_base_/datasets/synthetic_vss.py',
    '../_base_/default_runtime.py'
]

num_classes = 6
model = dict(
    detector=dict(
        kernel_head=dict(num_proposals=0, num_thing_classes=0, num_stuff_classes=num_classes),
        kernel_iter_head=dict(
            num_proposals=0,
            num_thing_classes=0,
            num_stuff_classes=num_classes,
            mask_head=dict(num_classes=num_classes)),
        test_cfg=dict(merge_mode='semantic', max_per_img=0)),
    kernel_linking=None,
    track_head=None,
    tracker=None)

# the CPU default's schedule (video_knet_r18_synthetic.py): iteration-based AdamW 1e-3
max_iters = 6000
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
randomness = dict(seed=0)

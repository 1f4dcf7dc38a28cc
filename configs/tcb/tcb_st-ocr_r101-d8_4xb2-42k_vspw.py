# TCB-st-ocr R-101 on VSPW_480p (P Tab. 2: val mIoU 37.40, mVC8 86.88, mVC16 82.04). Recipe of
# the released code (spec tcb.md section 3): 8 clips x 4 frames per iteration on 4 GPUs (2
# clips each, SyncBN), 42,000 iterations (120 epochs x 350), SGD momentum 0.9, weight decay 1e-4
# (0 on biases and BN beta), lr 0.002 for the heads and 0.0002 (x0.1) for the backbone, poly 0.9
# per iteration, no warm-up. Test: causal stream, references t-3, t-6, t-9 from the frame cache
# (the released code used future references: see tcb_st-ocr-mem_..._release_vspw.py).
_base_ = [
    '../_base_/models/tcb_st-ocr_r101-d8.py', '../_base_/datasets/vspw.py',
    '../_base_/default_runtime.py'
]

# Data: VSPW_480p for TCB (spec tcb.md section 3, the released code's data): training clips of a
# target and references at offsets (3, 6, 9) in a frame list reversed with p = 0.5, one clip
# per video per epoch; one augmentation for all frames of a clip (h-flip, scale in
# {0.8, 1, 1.5, 2}, crop 479 x 479 padded with image 0 / label 255). Test: every frame once,
# whole 480p frame, single scale, streamed in order.

ref_offsets = (3, 6, 9)
crop_size = (479, 479)  # (w, h)
# scale the short side (480 in VSPW_480p) by 0.8, 1, 1.5, 2; the long side is unbounded
train_scales = [(100000, 384), (100000, 480), (100000, 720), (100000, 960)]

train_pipeline = [
    dict(type='TemporalOffsetFrameSample', offsets=ref_offsets, reverse_prob=0.5),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomChoiceResize', scales=train_scales, keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, crop_type='absolute',
                 allow_negative_crop=True),
            dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=1, clip_overlap=0, test_mode=True),
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('seg_map_path', ))
]
train_dataloader = dict(
    batch_size=2,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),  # one clip per video
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=1, clip_overlap=0),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 42000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=7000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=1e-4),
    # norm_decay_mult unset: BN gamma keeps its decay, BN beta (a bias) gets none, as in R
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}, bias_decay_mult=0.))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=0, end=max_iters)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=7000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=8)

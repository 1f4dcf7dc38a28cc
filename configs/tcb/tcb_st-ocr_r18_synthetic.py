# CPU default of TCB-st-ocr on the synthetic video semantic set (spec tcb.md section 6): a
# dilated ResNet-18 with 16 base channels (layer3 64 / layer4 128 channels at stride 8), OCR
# pixel 64 / key 32 channels, aux 64, 6 classes, random init; references at offsets (1, 2, 3)
# (the short videos' (3, 6, 9)); 4 clips x 4 frames per iteration, scale jitter 0.8-1.25, crop,
# flip, temporal reversal; SGD lr 0.01 poly 0.9; streamed causal test. Make the data with
#   python tools/misc/make_synthetic_vps.py data/synthetic_vss --format vspw
_base_ = [
    '../_base_/models/tcb_st-ocr_r101-d8.py', '../_base_/datasets/synthetic_vss.py',
    '../_base_/default_runtime.py'
]

num_classes = 6
norm_cfg = dict(type='BN', requires_grad=True)
ref_offsets = (1, 2, 3)
model = dict(
    backbone=dict(
        _delete_=True, type='ResNet', depth=18, base_channels=16, strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4), out_indices=(2, 3), norm_cfg=norm_cfg, norm_eval=False,
        init_cfg=None),
    aux_head=dict(in_channels=64, channels=64, num_classes=num_classes, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=128, channels=64, key_channels=32, num_classes=num_classes,
        norm_cfg=norm_cfg),
    ref_offsets=ref_offsets)

train_pipeline = [
    dict(type='TemporalOffsetFrameSample', offsets=ref_offsets, reverse_prob=0.5),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=_base_.img_scale, ratio_range=(0.8, 1.25),
                 keep_ratio=True),
            dict(type='RandomCrop', crop_size=_base_.crop_size, crop_type='absolute',
                 allow_negative_crop=True),
            dict(type='Pad', size=_base_.crop_size, pad_val=dict(img=0, seg=255)),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=1, clip_overlap=0, test_mode=True),
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('seg_map_path', ))
]
train_dataloader = dict(
    batch_size=4,
    # one clip per video per pass; infinite, because mmengine pauses 2 s at every restart of a
    # finite loader, and 48 videos are only 12 (the image baseline: 3) iterations
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=1, clip_overlap=0),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 1500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(bias_decay_mult=0.))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=0, end=max_iters)
]
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)

# CPU default of Video-kMaX (spec video_kmax.md section 8): a small clip-kMaX (ResNet-18 with 16
# base channels, kMaX pixel decoder f = [64, 32, 16, 8], 16 queries of 64 channels, 1 + 1 + 1
# k-means layers) trained from scratch on clips of 2 synthetic frames, tested near-online (clips
# of 2 overlapping by 1, Video Stitching then the HiLA memory buffer). Make the data with
# `python tools/misc/make_synthetic_vps.py data/synthetic_vps --train-videos 96 --val-videos 16`.
_base_ = [
    '../_base_/models/video_kmax_r50.py', '../_base_/datasets/synthetic_vps.py',
    '../_base_/default_runtime.py'
]

num_thing_classes = 3
num_stuff_classes = 3
num_classes = num_thing_classes + num_stuff_classes
input_size = (96, 160)  # (h, w): the synthetic frames, a multiple of 32
norm_cfg = dict(type='BN', eps=1e-3, momentum=0.01)
clip_length = 2

model = dict(
    segmenter=dict(
        num_thing_classes=num_thing_classes,
        num_stuff_classes=num_stuff_classes,
        input_size=input_size,
        backbone=dict(depth=18, base_channels=16, norm_cfg=norm_cfg),
        pixel_decoder=dict(
            in_channels=(16, 32, 64, 128),
            channels=(64, 32, 16, 8),
            num_blocks=(1, 1, 1, 1),
            num_heads=4,
            input_size=input_size,
            norm_cfg=norm_cfg),
        transformer_decoder=dict(
            in_channels=(256, 128, 64),
            panoptic_channels=32,
            num_classes=num_classes,
            num_queries=16,
            hidden_dim=64,
            num_layers=(1, 1, 1),
            num_heads=4,
            attn_key_dim=32,
            ffn_dim=256,
            mask_embed_dim=32,
            pixel_head_dim=64,
            drop_path_rate=0.0,
            norm_cfg=norm_cfg),
        semantic_head=dict(
            in_channels=(16, 32, 128), num_classes=num_classes, channels=64,
            low_level_channels=(16, 8), norm_cfg=norm_cfg),
        criterion=dict(
            num_classes=num_classes,
            loss_instance_discrimination=dict(
                type='PixelInstanceDiscriminationLoss', num_samples=1024, loss_weight=1.0),
            loss_semantic=dict(type='SampledSemanticLoss', num_samples=0, loss_weight=1.0)),
        post_processor=dict(
            pixel_confidence_threshold=0.3,
            thing_threshold=0.3,
            stuff_threshold=0.3,
            overlap_threshold=0.8,
            thing_area_limit=0,
            stuff_area_limit=0)))

train_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, frame_stride=1),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=_base_.img_scale, ratio_range=(0.8, 1.25),
                 keep_ratio=True),
            dict(type='RandomCrop', crop_size=_base_.img_scale, crop_type='absolute',
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='FilterTrackAnnotations'),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, clip_overlap=1, test_mode=True),
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=_base_.img_scale, keep_ratio=True),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('seg_map_path', ))
]
train_dataloader = dict(
    batch_size=2, sampler=dict(type='TrackImgSampler'),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=clip_length, clip_overlap=1),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 1500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=50, end=max_iters)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'rpe': dict(decay_mult=0.0),
            'cluster_centers': dict(decay_mult=0.0)
        }))
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)

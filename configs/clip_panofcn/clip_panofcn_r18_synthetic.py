# CPU default of Clip-PanoFCN (spec clip_panofcn.md section 10): a small PanopticFCN (ResNet-18 with
# 16 base channels, FPN P2..P5 of 64 channels, heads on P3..P5, 16-d encoder and kernels) trained
# from scratch on clips of 2 synthetic frames, tested on non-overlapping clips of 4 (3 clips per
# 12-frame video, so the inter-clip tracker runs). Make the data with
# `python tools/misc/make_synthetic_vps.py data/synthetic_vps --train-videos 96 --val-videos 16`.
# Other test clip lengths C (1, 2, 3, 5, 8; README.md) with one trained model: --cfg-options
#   test_dataloader.sampler.clip_length=C test_dataloader.dataset.pipeline.0.clip_length=C
_base_ = [
    '../_base_/models/panoptic_fcn_r50.py', '../_base_/datasets/synthetic_vps.py',
    '../_base_/default_runtime.py'
]

num_things = 3
num_stuff = 3
gn = dict(type='GN', num_groups=8, requires_grad=True)
train_clip_length = 2
test_clip_length = 4

model = dict(
    data_preprocessor=dict(
        type='TrackDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32, pad_mask=True,
        pad_seg=True, seg_pad_value=255),
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        base_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch'),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64, num_outs=4),  # P2..P5
    panoptic_head=dict(
        num_things=num_things,
        num_stuff=num_stuff,
        semantic_fpn=dict(in_channels=64, feat_channels=64, norm_cfg=gn),
        feature_encoder=dict(in_channels=64, channels=16, num_convs=2),
        position_head=dict(in_channels=64, channels=64, num_convs=2, deform=False, norm_cfg=gn),
        kernel_head=dict(in_channels=64, channels=64, num_convs=2, norm_cfg=gn),
        embed_channels=16,
        semantic_levels=(0, 1, 2, 3),
        head_levels=(1, 2, 3),  # P3..P5: 20x12, 10x6, 5x3 on 160x96 frames
        target_generator=dict(instance_scales=((1, 32), (16, 64), (32, 2048))),
        test_cfg=dict(center_pool_sizes=(3, 3, 3), top_num=20)),
    fusion=dict(type='ClipKernelFusion', similarity_threshold=0.9, class_specific=True),
    # 4096 px of a 1280x720 frame is 0.44 %: 64 px of a 160x96 frame; per clip, as released
    merger=dict(type='ClipMaskMerger', max_things=20, stuff_area_limit=64),
    tracker=dict(type='InterClipKernelTracker', memory_weight=0.8, cost_limit=0.3))

train_pipeline = [
    dict(type='VideoClipSample', clip_length=train_clip_length, frame_stride=1),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='Resize', scale=_base_.img_scale, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='FilterTrackAnnotations'),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=test_clip_length, test_mode=True),
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
    batch_size=2, sampler=dict(type='TrackImgSampler'), dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=test_clip_length),
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
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(type='value', clip_value=35.0))
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)

# CPU default of VPSNet (spec vpsnet.md §7): a small FuseTrack VPSNet (ResNet-18 with 16 base
# channels and GroupNorm, 32-channel FPN, no deformable convs) trained from scratch on the
# synthetic videos with key + reference frames, then evaluated online (one frame per step, the
# previous frame as the reference) on the synthetic val split. Fusion: zero initial flow, a
# residual flow refined on a 5x5 correlation (spec §7), temporal-spatial attention on 32 channels.
#   python tools/misc/make_synthetic_vps.py data/synthetic_vps --overwrite \
#       --train-videos 96 --val-videos 16
#   python tools/train.py configs/vpsnet/vpsnet-fusetrack_r18_synthetic.py
#   python tools/test.py configs/vpsnet/vpsnet-fusetrack_r18_synthetic.py \
#       work_dirs/vpsnet-fusetrack_r18_synthetic/iter_3000.pth
_base_ = [
    '../_base_/models/vpsnet_r50_fpn.py', '../_base_/datasets/synthetic_vps.py',
    '../_base_/default_runtime.py'
]

num_things = 3
num_stuff = 3
channels = 32
norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)
model = dict(
    backbone=dict(
        depth=18, base_channels=16, frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=channels),
    extra_neck=dict(
        _delete_=True,
        type='FlowAlignAttendFusion',
        in_channels=channels,
        num_levels=5,
        refine_level=0,
        refine_type='conv',
        fusion=dict(type='TemporalSpatialAttentionFusion'),
        flow_estimator=dict(type='ZeroFlow'),
        flow_refiner=dict(type='FlowRefiner', max_displacement=2, hidden_channels=(16, 16, 8))),
    rpn_head=dict(
        in_channels=channels, feat_channels=channels,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels, fc_out_channels=128, num_classes=num_things),
        mask_roi_extractor=dict(out_channels=channels),
        mask_head=dict(num_convs=2, in_channels=channels, conv_out_channels=channels,
                       num_classes=num_things)),
    semantic_head=dict(
        num_classes=num_things + num_stuff, in_channels=channels, channels=(32, 16, 16),
        norm_cfg=norm_cfg, dcn_backend='none'),
    # 96 x 160 frames: a stuff segment below 64 pixels becomes void
    panoptic_head=dict(num_things=num_things, num_stuff=num_stuff, stuff_area_limit=64),
    track_head=dict(in_channels=channels, fc_out_channels=128),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=64)),
        rpn_proposal=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=100)))

# key + reference frame within +-5 frames (P Sec. 5.1), one random resize / crop / flip for both
train_pipeline = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=5, filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=_base_.img_scale, ratio_range=(0.8, 1.5),
                 keep_ratio=True),
            dict(type='RandomCrop', crop_size=_base_.img_scale, crop_type='absolute',
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='FilterTrackAnnotations'),
        ]),
    dict(type='PackVideoPanopticInputs')
]
# online: one frame per clip, in order, every frame predicted once
test_pipeline = [
    dict(type='VideoClipSample', clip_length=1, clip_overlap=0, test_mode=True),
    _base_.test_pipeline[0],
    _base_.test_pipeline[1],
]
train_dataloader = dict(batch_size=1, sampler=dict(type='TrackImgSampler'),
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=1, clip_overlap=0),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 3000
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
    clip_grad=dict(max_norm=35, norm_type=2))
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)

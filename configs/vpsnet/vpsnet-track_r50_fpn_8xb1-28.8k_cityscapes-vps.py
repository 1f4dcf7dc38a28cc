# VPSNet-Track on Cityscapes-VPS (released configs/cityscapes/track.py; spec vpsnet.md §5):
# Mask R-CNN R-50-FPN + UPSNet semantic head + panoptic head + MaskTrack track head, no extra neck
# (the released Track model has none), initialised from VIPER Track. 8 GPUs x 1 key + reference
# pair, SGD lr 0.005, RepeatDataset x8 x 12 epochs of the 2400 annotated training frames =
# 28 800 iterations, steps at 19 200 / 26 400. Test: online over all 30 frames of each val
# snippet at 2048 x 1024, VPQ on the 6 annotated frames at k = 0, 5, 10, 15 (windows of 1-4
# annotated frames, the 'cityscapes_vps' preset) and their mean.
# Paper (Table 4, its own 100-video val): VPQ 53.6 (k=0 61.6, k=5 54.3, k=10 50.7, k=15 47.8).
_base_ = [
    '../_base_/models/vpsnet_r50_fpn.py', '../_base_/datasets/cityscapes_vps.py',
    '../_base_/default_runtime.py'
]

model = dict(extra_neck=None)

# a key frame and the annotated frame before or after it (+-5 raw frames); one resize
# (2048 x 1024 x U(0.8, 1.5)), crop 800 x 1600 and flip for both
train_pipeline = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=1, filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.8, 1.5),
                 keep_ratio=True),
            dict(type='RandomCrop', crop_size=(1600, 800), crop_type='absolute',
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='FilterTrackAnnotations'),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=1, clip_overlap=0, test_mode=True),
    _base_.test_pipeline[0],
    _base_.test_pipeline[1],
]
train_dataloader = dict(batch_size=1, num_workers=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=1, clip_overlap=0),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 28800
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[19200, 26400], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2400))
log_processor = dict(by_epoch=False)
# the VIPER Track weights (configs/vpsnet/vpsnet-track_r50_fpn_8xb1-12e_viper.py), or the
# released ones converted with tools/model_converters/vpsnet_to_mmvps.py
load_from = 'checkpoints/vpsnet/vpsnet-track_viper.pth'

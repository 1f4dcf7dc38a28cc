# VPSNet-FuseTrack on VIPER-VPS (paper Sec. 5.2, Table 4; no VIPER config was released): the
# Cityscapes-VPS model with 10 things / 13 stuff, 'day' train videos at 1080 x 1920 with the same
# scale jitter and 800 x 1600 crops, a reference within +-5 frames, 12 epochs (lr x0.1 at 8 and
# 11), initialised from a COCO-pretrained Base model (neither released). Test: 10 'day' val
# videos, online, VPQ windows of the 'viper' preset.
# Paper (Table 4): FuseTrack VPQ 51.9 (k=0 55.4). Initial flow: PWCLiteFlow (see the
# Cityscapes-VPS FuseTrack config).
_base_ = './vpsnet-fusetrack_r50_fpn_8xb1-28.8k_cityscapes-vps.py'

num_things, num_stuff = 10, 13
model = dict(
    roi_head=dict(bbox_head=dict(num_classes=num_things), mask_head=dict(num_classes=num_things)),
    semantic_head=dict(num_classes=num_things + num_stuff),
    panoptic_head=dict(num_things=num_things, num_stuff=num_stuff))

train_pipeline = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=5, filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=(1920, 1080), ratio_range=(0.8, 1.5),
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
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(1920, 1080), keep_ratio=True),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('img_id', 'seg_map_path'))
]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        _delete_=True,
        type='VIPERVPSDataset',
        data_root='data/viper_vps/',
        ann_file='viper_panoptic_train_day_video.json',
        data_prefix=dict(img='train_day/img/', seg='train_day/panoptic_video/'),
        filter_cfg=dict(filter_unannotated=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='VIPERVPSDataset',
        data_root='data/viper_vps/',
        ann_file='viper_panoptic_val_day_video.json',
        data_prefix=dict(img='val_day/img/', seg='val_day/panoptic_video/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VideoPanopticMetric', windows='viper')
test_evaluator = val_evaluator

max_epochs = 12
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11],
         gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=1))
log_processor = dict(by_epoch=True)
# the COCO Base weights (vpsnet-base_r50_fpn_8xb2-12e_coco-panoptic.py)
load_from = 'checkpoints/vpsnet/vpsnet-base_coco.pth'

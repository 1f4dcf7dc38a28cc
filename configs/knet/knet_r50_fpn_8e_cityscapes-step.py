# K-Net R-50 pretraining on Cityscapes in the STEP label space (2 things: person, car; 17 stuff:
# the other trainId classes), the "very important" first step of the official KITTI-STEP recipe
# (lxtGH/Video-K-Net, configs/det/knet_cityscapes_step/knet_s3_r50_fpn.py with
# configs/det/_base_/models/knet_citystep_s3_r50_fpn.py and datasets/cityscapes_step.py):
# the official-equivalent K-Net (../_base_/models/knet_r50_fpn_official.py) with the image
# settings of the official code (masks x2 to stride 4 for matching and losses, sigmoid Focal loss
# on the semantic head, joint paste with thing score 0.3), scale (2048, 1024) x [0.5, 2], flip,
# full-image crop 1024x2048, 8 epochs over train x8, 8 GPUs x 2 images, AdamW 1e-4, weight decay
# 0.05, backbone lr x0.25, clip 1, lr x0.1 at epoch 7. Its checkpoint initializes
# configs/video_knet/video_knet_r50_8xb1-12e_kitti-step.py.
#
# Data: Cityscapes panoptic (cityscapesScripts csCreatePanopticImgs) remapped to STEP by
# `python tools/dataset_converters/cityscapes_panoptic_to_step.py data/cityscapes`.
_base_ = ['../_base_/models/knet_r50_fpn_official.py', '../_base_/default_runtime.py']

thing_classes = ('person', 'car')
stuff_classes = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                 'traffic sign', 'vegetation', 'terrain', 'sky', 'rider', 'truck', 'bus', 'train',
                 'motorcycle', 'bicycle')
metainfo = dict(
    classes=thing_classes + stuff_classes,
    thing_classes=thing_classes,
    stuff_classes=stuff_classes,
    palette=[(220, 20, 60), (0, 0, 142), (128, 64, 128), (244, 35, 232), (70, 70, 70),
             (102, 102, 156), (190, 153, 153), (153, 153, 153), (250, 170, 30), (220, 220, 0),
             (107, 142, 35), (152, 251, 152), (70, 130, 180), (255, 0, 0), (0, 0, 70),
             (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32)])
num_things_classes = len(thing_classes)
num_stuff_classes = len(stuff_classes)

model = dict(
    kernel_head=dict(
        num_thing_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        mask_upsample_stride=2,
        loss_seg=dict(
            _delete_=True, type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
            loss_weight=1.0)),
    kernel_iter_head=dict(
        num_thing_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        mask_upsample_stride=2,
        mask_head=dict(num_classes=num_things_classes + num_stuff_classes)),
    test_cfg=dict(instance_score_thr=0.3))

dataset_type = 'CocoPanopticDataset'
data_root = 'data/cityscapes/'
img_scale = (2048, 1024)
crop_size = (1024, 2048)  # (h, w) of mmdet's RandomCrop: the full image
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='RandomResize', scale=img_scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, crop_type='absolute', recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
# official: native size (scale factor 1.0)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='RepeatDataset',
        times=8,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            metainfo=metainfo,
            ann_file='gtFine/cityscapes_panoptic_train_step.json',
            data_prefix=dict(img='leftImg8bit/train/',
                             seg='gtFine/cityscapes_panoptic_train_step/'),
            filter_cfg=dict(filter_empty_gt=False, min_size=32),
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='gtFine/cityscapes_panoptic_val_step.json',
        data_prefix=dict(img='leftImg8bit/val/', seg='gtFine/cityscapes_panoptic_val_step/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoPanopticMetric',
    ann_file=data_root + 'gtFine/cityscapes_panoptic_val_step.json',
    seg_prefix=data_root + 'gtFine/cityscapes_panoptic_val_step/')
test_evaluator = val_evaluator

max_epochs = 8
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[7], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.25)}),
    clip_grad=dict(max_norm=1, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(visualization=dict(type='DetVisualizationHook'))
visualizer = dict(type='DetLocalVisualizer')

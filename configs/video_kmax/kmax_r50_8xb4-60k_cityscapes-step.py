# kMaX-DeepLab R-50 on Cityscapes in the STEP label space (2 things: person, car; 17 stuff): the
# image pretraining of Video-kMaX's KITTI-STEP models (P Sec. 4.2: ImageNet, then Cityscapes).
# kMaX-DeepLab's Cityscapes recipe (deeplab2 cityscapes textproto, bytedance/kmax-deeplab
# cityscapes yaml; spec section 5): crop 1024x2048 (1025x2049 as a multiple of 32), scale 0.5-2.0,
# 32 images (8 GPUs x 4), AdamW lr 3e-4, wd 0.05, backbone lr x0.1, 60k iterations with 5k warmup
# then poly 0.9, 256 queries, instance discrimination sample temperature 0.6, the semantic loss on
# every pixel, Cityscapes post-processing. Deviation: the COCO pixel-decoder layout (no 5th OS2
# stage) and the full auxiliary semantic head, so that the weights load into the 4-stage
# KITTI-STEP video models. Not reproduced: the small-instance loss weight 3.0.
#
# Data: Cityscapes panoptic remapped to STEP by
# `python tools/dataset_converters/cityscapes_panoptic_to_step.py data/cityscapes`.
_base_ = [
    '../_base_/models/clip_kmax_r50.py', '../_base_/schedules/schedule_kmax_40k.py',
    '../_base_/default_runtime.py'
]

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
num_thing_classes = len(thing_classes)
num_stuff_classes = len(stuff_classes)
num_classes = num_thing_classes + num_stuff_classes
input_size = (1024, 2048)  # (h, w)

model = dict(
    num_thing_classes=num_thing_classes,
    num_stuff_classes=num_stuff_classes,
    input_size=input_size,
    pixel_decoder=dict(input_size=input_size),
    transformer_decoder=dict(num_classes=num_classes, num_queries=256),
    semantic_head=dict(num_classes=num_classes),
    criterion=dict(
        num_classes=num_classes,
        loss_instance_discrimination=dict(
            type='PixelInstanceDiscriminationLoss', num_samples=4096, sample_temperature=0.6,
            loss_weight=1.0),
        loss_semantic=dict(type='SampledSemanticLoss', num_samples=0, loss_weight=1.0)),
    post_processor=dict(
        pixel_confidence_threshold=0.4,
        thing_threshold=0.5,
        stuff_threshold=0.3,
        overlap_threshold=0.9,
        reorder_class_weight=1.0,
        reorder_mask_weight=0.0,
        thing_area_limit=256,
        stuff_area_limit=2048))

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
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='gtFine/cityscapes_panoptic_train_step.json',
        data_prefix=dict(img='leftImg8bit/train/', seg='gtFine/cityscapes_panoptic_train_step/'),
        filter_cfg=dict(filter_empty_gt=False, min_size=32),
        pipeline=train_pipeline))
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

max_iters = 60000
warmup_iters = 5000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=warmup_iters,
         end=max_iters)
]
optim_wrapper = dict(optimizer=dict(lr=3e-4))

default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=2),
    visualization=dict(type='DetVisualizationHook'))
log_processor = dict(by_epoch=False)
visualizer = dict(type='DetLocalVisualizer')

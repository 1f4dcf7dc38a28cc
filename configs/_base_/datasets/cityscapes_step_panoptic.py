# Cityscapes panoptic in the STEP label space of KITTI-STEP (2 things: person, car; 17 stuff: the
# other trainId classes), for the image pretraining of the KITTI-STEP video models. Data:
# Cityscapes panoptic (cityscapesScripts csCreatePanopticImgs) remapped to STEP by
# `python tools/dataset_converters/cityscapes_panoptic_to_step.py data/cityscapes`, read by mmdet's
# CocoPanopticDataset (labels in the order of the JSON's categories: things first).
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
# native size (scale factor 1.0)
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

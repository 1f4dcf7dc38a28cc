# K-Net R-50, COCO panoptic, 36 epochs with multi-scale training (K-Net's "ms-3x" setting).
# Data: mmdet's COCO panoptic pipeline (thing classes first, as mmvps expects); evaluation with
# mmdet's CocoPanopticMetric, which needs `panopticapi` installed.
_base_ = [
    'mmdet::_base_/datasets/coco_panoptic.py',
    '../_base_/models/knet_r50_fpn.py',
    '../_base_/default_runtime.py',
]

num_things_classes = 80
num_stuff_classes = 53
model = dict(
    kernel_head=dict(num_thing_classes=num_things_classes, num_stuff_classes=num_stuff_classes),
    kernel_iter_head=dict(
        num_thing_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        mask_head=dict(num_classes=num_things_classes + num_stuff_classes)),
    test_cfg=dict(stuff_min_area=4096))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='RandomResize', scale=[(1333, 480), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

# AdamW (lr 1e-4, weight decay 0.05), gradient clipping, lr x0.1 at epochs 27 and 33 (K-Net)
max_epochs = 36
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33],
         gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, weight_decay=0.05),
    clip_grad=dict(max_norm=1, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)

# image model: mmdet's visualizer draws pred_panoptic_seg
default_hooks = dict(visualization=dict(type='DetVisualizationHook'))
visualizer = dict(type='DetLocalVisualizer')

# PanopticFCN R-50, COCO panoptic, "3x" (270k iterations): the image model that Clip-PanoFCN
# builds on (dvlab-research/PanopticFCN configs/PanopticFCN-R50-3x.yaml; spec clip_panofcn.md
# sections 2 and 6). 80 thing classes, 53 stuff + 1 "thing" region channels, 7 positive kernels
# per instance (image PanopticFCN's POS_NUM), 64-d feature encoder. Images are clips of one frame
# (ClipPanopticFCN on [B, 3, H, W] with DetDataSamples). Recipe: MSRA R-50 (caffe, frozen BN),
# 16 images (8 GPUs x 2), SGD lr 0.01 momentum 0.9 wd 1e-4 (none on norms), linear warmup 1000
# iterations from 0.001 times poly 0.9, gradient value clip 35, short side 640-800 (step 32,
# long side <= 1333), flip; test short side 800. Reported (PanopticFCN README): PQ 43.6 on val.
# Input: BGR minus (123.675, 116.28, 103.53) (detectron2's default FORMAT BGR with the released
# PIXEL_MEAN), so converted released checkpoints see what they were trained on.
# mmdet's COCO panoptic loader needs `panopticapi` (README).
_base_ = [
    'mmdet::_base_/datasets/coco_panoptic.py',
    '../_base_/models/panoptic_fcn_r50.py',
    '../_base_/default_runtime.py',
]

num_things = 80
num_stuff = 53
model = dict(
    data_preprocessor=dict(
        _delete_=True, type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[1.0, 1.0, 1.0], bgr_to_rgb=False, pad_size_divisor=32, pad_mask=True,
        pad_seg=True, seg_pad_value=255),
    panoptic_head=dict(num_things=num_things, num_stuff=num_stuff, num_positives=7))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(640, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadPanopticAnnotations'),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 270000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# detectron2's WarmupPolyLR: warmup factor times poly, both from iteration 0 (mmengine chains
# the two multiplicatively)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1000),
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=0, end=max_iters),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.),
    clip_grad=dict(type='value', clip_value=35))
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=2),
    visualization=dict(type='DetVisualizationHook'))
log_processor = dict(by_epoch=False)
visualizer = dict(type='DetLocalVisualizer')

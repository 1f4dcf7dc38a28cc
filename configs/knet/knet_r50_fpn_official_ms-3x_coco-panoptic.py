# Official-equivalent K-Net R-50 on COCO panoptic, the pretraining of the official VIPSeg recipe
# (lxtGH/Video-K-Net README; its configs/det/coco/knet_s3_r50_fpn_ms-3x_coco-panoptic.py
# inherits a missing ../common/mstrain_3x_coco_panoptic.py, so the schedule follows the sibling
# mstrain_3x_coco_panoptic_inst_anno.py: multi-scale (1333, 640-800), 12 epochs over train x3
# with lr steps at 9 / 11, 8 GPUs x 2 images, AdamW 1e-4, weight decay 0.05, backbone lr x0.25).
# Model: ../_base_/models/knet_r50_fpn_official.py with the image settings (masks x2 to
# stride 4, Focal loss on the semantic head, thing score 0.3). Its checkpoint initializes
# configs/video_knet/video_knet_r50_8xb1-12e_vipseg.py.
_base_ = [
    'mmdet::_base_/datasets/coco_panoptic.py',
    '../_base_/models/knet_r50_fpn_official.py',
    '../_base_/default_runtime.py',
]

num_things_classes = 80
num_stuff_classes = 53
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

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='RandomResize', scale=[(1333, 640), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    batch_size=2,
    dataset=dict(_delete_=True, type='RepeatDataset', times=3,
                 dataset=dict(_base_.train_dataloader.dataset, pipeline=train_pipeline)))

max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[9, 11],
         gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.25)}),
    clip_grad=dict(max_norm=1, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(visualization=dict(type='DetVisualizationHook'))
visualizer = dict(type='DetLocalVisualizer')

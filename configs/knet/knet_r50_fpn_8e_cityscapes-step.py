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
_base_ = [
    '../_base_/models/knet_r50_fpn_official.py', '../_base_/datasets/cityscapes_step_panoptic.py',
    '../_base_/default_runtime.py'
]

num_things_classes = len(_base_.thing_classes)
num_stuff_classes = len(_base_.stuff_classes)

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

# the official schedule: 8 epochs over train x8, 2 images per GPU in aspect-ratio groups
train_dataloader = dict(
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        _delete_=True, type='RepeatDataset', times=8, dataset=_base_.train_dataloader.dataset))

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

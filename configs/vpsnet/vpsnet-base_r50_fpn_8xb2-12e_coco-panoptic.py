# VPSNet-Base on COCO panoptic: the first stage of the paper's weight chain (COCO-pretrained Base
# -> VIPER -> Cityscapes; spec vpsnet.md §5), whose weights the VIPER configs load. Neither the
# COCO config nor its weights were released (the paper only says "COCO-pretrained Base"), so the
# recipe is chosen here (configs/vpsnet/README.md): the VPSNet optimiser (SGD, momentum 0.9,
# weight decay 1e-4, gradient clip 35, linear warm-up over 500 iterations from 1/3) with the
# paper's lr 0.005 for 8 images scaled linearly to 0.01 for 16 images (8 GPUs x 2), the 12-epoch
# schedule with lr x0.1 at epochs 8 and 11 (the paper's VIPER schedule, mmdet's Mask R-CNN 1x),
# mmdet's COCO panoptic pipeline (1333 x 800, flip) and the released stuff area limit 4096.
# 80 things, 53 stuff. Images are clips of one frame that are their own reference ([B, 3, H, W]
# with DetDataSamples); mmdet's CocoPanopticMetric needs `panopticapi` installed.
_base_ = [
    'mmdet::_base_/datasets/coco_panoptic.py',
    '../_base_/models/vpsnet_r50_fpn.py',
    '../_base_/default_runtime.py',
]

num_things, num_stuff = 80, 53
model = dict(
    data_preprocessor=dict(
        _delete_=True, type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32, pad_mask=True,
        pad_seg=True, seg_pad_value=255),
    roi_head=dict(bbox_head=dict(num_classes=num_things), mask_head=dict(num_classes=num_things)),
    semantic_head=dict(num_classes=num_things + num_stuff),
    panoptic_head=dict(num_things=num_things, num_stuff=num_stuff, stuff_area_limit=4096),
    track_head=None,
    tracker=dict(_delete_=True, type='PerFrameIdTracker'))

train_dataloader = dict(batch_size=2, num_workers=2)

max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11],
         gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=1),
                     visualization=dict(type='DetVisualizationHook'))
log_processor = dict(by_epoch=True)
# image model: mmdet's visualizer draws pred_panoptic_seg
visualizer = dict(type='DetLocalVisualizer')

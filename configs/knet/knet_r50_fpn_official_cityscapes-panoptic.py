# Official-equivalent K-Net R-50 on Cityscapes panoptic in the Cityscapes-VPS label space (8
# things, 11 stuff), to initialize configs/video_knet/video_knet_r50_8xb1-12e_cityscapes-vps.py
# (the official code has no Cityscapes-VPS recipe). Model and optimizer of
# ./knet_r50_fpn_8e_cityscapes-step.py; data and schedule of ./knet_r50_fpn_cityscapes-panoptic.py
# (the Cityscapes export with its categories reordered things first, see README).
_base_ = ['./knet_r50_fpn_8e_cityscapes-step.py']

thing_classes = ('person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle')
stuff_classes = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                 'traffic sign', 'vegetation', 'terrain', 'sky')
metainfo = dict(
    classes=thing_classes + stuff_classes,
    thing_classes=thing_classes,
    stuff_classes=stuff_classes,
    palette=[(220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100),
             (0, 0, 230), (119, 11, 32), (128, 64, 128), (244, 35, 232), (70, 70, 70),
             (102, 102, 156), (190, 153, 153), (153, 153, 153), (250, 170, 30), (220, 220, 0),
             (107, 142, 35), (152, 251, 152), (70, 130, 180)])
model = dict(
    kernel_head=dict(num_thing_classes=8, num_stuff_classes=11),
    kernel_iter_head=dict(num_thing_classes=8, num_stuff_classes=11,
                          mask_head=dict(num_classes=19)))
data_root = 'data/cityscapes/'
train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        _delete_=True,
        type='CocoPanopticDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='gtFine/cityscapes_panoptic_train.json',
        data_prefix=dict(img='leftImg8bit/train/', seg='gtFine/cityscapes_panoptic_train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=_base_.train_pipeline))
val_dataloader = dict(
    dataset=dict(
        metainfo=metainfo,
        ann_file='gtFine/cityscapes_panoptic_val.json',
        data_prefix=dict(img='leftImg8bit/val/', seg='gtFine/cityscapes_panoptic_val/')))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=data_root + 'gtFine/cityscapes_panoptic_val.json',
    seg_prefix=data_root + 'gtFine/cityscapes_panoptic_val/')
test_evaluator = val_evaluator

max_iters = 60000
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters // 6)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.75), int(max_iters * 0.92)], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters // 6))
log_processor = dict(by_epoch=False)

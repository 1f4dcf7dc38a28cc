# Video K-Net R-50 on Cityscapes-VPS (paper Tab. 3: VPQ 65.6 / 57.7 / 54.2 at k = 0 / 5 / 10 on
# val, VPSNet's protocol). The official code ships no Cityscapes-VPS Video K-Net config: this one
# uses the official-equivalent model and optimizer of the KITTI-STEP recipe; kernel fusion is off
# (the paper does not use it here, because of the low frame rate of the annotated frames). All 30
# frames of each val clip are segmented and tracked online; the 6 annotated ones are evaluated.
_base_ = [
    '../_base_/models/video_knet_r50_official.py', '../_base_/datasets/cityscapes_vps.py',
    '../_base_/schedules/schedule_adamw_12e.py', '../_base_/default_runtime.py'
]

num_things_classes = 8
num_stuff_classes = 11
model = dict(
    detector=dict(
        kernel_head=dict(num_thing_classes=num_things_classes, num_stuff_classes=num_stuff_classes),
        kernel_iter_head=dict(
            num_thing_classes=num_things_classes,
            num_stuff_classes=num_stuff_classes,
            mask_head=dict(num_classes=num_things_classes + num_stuff_classes)),
        # K-Net's Cityscapes value (official image configs)
        test_cfg=dict(instance_score_thr=0.3)))

train_dataloader = dict(batch_size=1)
optim_wrapper = dict(
    optimizer=dict(weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.25)}))
find_unused_parameters = True
# K-Net R-50 pretrained on Cityscapes panoptic (Cityscapes-VPS labels):
# configs/knet/knet_r50_fpn_official_cityscapes-panoptic.py
load_from = 'work_dirs/knet_r50_fpn_official_cityscapes-panoptic/iter_60000.pth'

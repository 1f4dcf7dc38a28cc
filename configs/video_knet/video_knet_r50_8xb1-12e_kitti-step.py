# Video K-Net R-50 on KITTI-STEP (paper Tab. 2: STQ 0.71, AQ 0.70, SQ 0.71, VPQ 0.46 on val).
# Key frame + one reference frame in [-2, 2], segmentation losses on both, kernel association
# embeddings (Eq. 1-2), kernel linking and kernel fusion. 8 GPUs x 1 sample, AdamW 1e-4, weight
# decay 1e-4, 12 epochs (lr steps at 9 and 11) over the train split repeated twice (official
# code). Initialize from K-Net pretrained on Cityscapes in the STEP label space (see README).
_base_ = [
    '../_base_/models/video_knet_r50.py', '../_base_/datasets/kitti_step.py',
    '../_base_/schedules/schedule_adamw_12e.py', '../_base_/default_runtime.py'
]

num_things_classes = 2  # person, car
num_stuff_classes = 17
model = dict(
    detector=dict(
        kernel_head=dict(num_thing_classes=num_things_classes, num_stuff_classes=num_stuff_classes),
        kernel_iter_head=dict(
            num_thing_classes=num_things_classes,
            num_stuff_classes=num_stuff_classes,
            mask_head=dict(num_classes=num_things_classes + num_stuff_classes)),
        test_cfg=dict(stuff_min_area=2048)))

train_dataloader = dict(
    batch_size=1,
    dataset=dict(_delete_=True, type='RepeatDataset', times=2,
                 dataset=_base_.train_dataloader.dataset))
# kernels without association samples leave the linking and embedding head unused
find_unused_parameters = True
# K-Net R-50 pretrained on Cityscapes with the STEP classes (2 things, 17 stuff)
load_from = None

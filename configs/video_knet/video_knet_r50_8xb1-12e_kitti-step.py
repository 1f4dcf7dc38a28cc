# Video K-Net R-50 on KITTI-STEP (paper Tab. 2: STQ 0.71, AQ 0.70, SQ 0.71, VPQ 0.46 on val), as
# the official code trains it (lxtGH/Video-K-Net, configs/det/video_knet_kitti_step/
# video_knet_s3_r50_rpn_1x_kitti_step_sigmoid_stride2_mask_embed_link_ffn_joint_train.py):
# the official-equivalent model (../_base_/models/video_knet_r50_official.py: no kernel fusion,
# official linking, joint paste 0.25 / 0.6), key frame + one reference frame in [-2, 2], crops
# keeping at least one thing and one id shared by both frames, 8 GPUs x 1 clip, AdamW 1e-4 with
# weight decay 0.05 and backbone lr x0.25, clip 1, 12 epochs over train x2 (lr steps 9 / 11).
# Initialize from K-Net R-50 pretrained on Cityscapes in the STEP label space (see README).
_base_ = [
    '../_base_/models/video_knet_r50_official.py', '../_base_/datasets/kitti_step.py',
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
            mask_head=dict(num_classes=num_things_classes + num_stuff_classes))))

train_pipeline = _base_.train_pipeline[:-1] + [
    dict(type='FilterAssociationFreeClips', min_things=1, require_shared_id=True),
    _base_.train_pipeline[-1]
]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(_delete_=True, type='RepeatDataset', times=2,
                 dataset=dict(_base_.train_dataloader.dataset, pipeline=train_pipeline)))
# official test: native size (no resize), padded to 32 by the data preprocessor
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('seg_map_path', ))
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(
    optimizer=dict(weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.25)}))
# kernels without association samples leave the linking and embedding head unused
find_unused_parameters = True
# K-Net R-50 pretrained on Cityscapes with the STEP classes (2 things, 17 stuff):
# configs/knet/knet_r50_fpn_8e_cityscapes-step.py, or an official checkpoint converted with
# tools/model_converters/video_knet_official_to_mmvps.py
load_from = 'work_dirs/knet_r50_fpn_8e_cityscapes-step/epoch_8.pth'

# Video K-Net R-50 on VIPSeg (124 classes: 58 things, 66 stuff), as the official code trains it
# (lxtGH/Video-K-Net, configs/det/video_knet_vipseg/
# video_knet_s3_r50_rpn_vipseg_mask_embed_link_ffn_joint_train.py):
# the official-equivalent model (no kernel fusion, official linking and paste), short side scaled
# to 720 x [1, 2], flip, crop 736x736 keeping at least one thing and one shared id, AdamW 1e-4,
# weight decay 0.05, backbone lr x0.25, 12 epochs (lr steps 9 / 11), 8 GPUs x 1 clip. The Video
# K-Net paper reports no VIPSeg number; its arXiv version has R-50 at STQ 33.1 / VPQ 26.1 on val
# (as quoted in Video-kMaX, Tab. 2a; see README). Initialize from K-Net R-50 on COCO panoptic.
_base_ = [
    '../_base_/models/video_knet_r50_official.py', '../_base_/datasets/vipseg.py',
    '../_base_/schedules/schedule_adamw_12e.py', '../_base_/default_runtime.py'
]

num_things_classes = 58
num_stuff_classes = 66
model = dict(
    detector=dict(
        kernel_head=dict(num_thing_classes=num_things_classes, num_stuff_classes=num_stuff_classes),
        kernel_iter_head=dict(
            num_thing_classes=num_things_classes,
            num_stuff_classes=num_stuff_classes,
            mask_head=dict(num_classes=num_things_classes + num_stuff_classes))))

crop_size = (736, 736)
train_pipeline = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=2, filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            # official: short side 720 x [1, 2] (mmcv 1.x img_scale=(720, 100000))
            dict(type='RandomResize', scale=(100000, 720), ratio_range=(1.0, 2.0),
                 keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, crop_type='absolute',
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='FilterTrackAnnotations'),
        ]),
    dict(type='FilterAssociationFreeClips', min_things=1, require_shared_id=True),
    dict(type='PackVideoPanopticInputs')
]
train_dataloader = dict(batch_size=1, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(
    optimizer=dict(weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.25)}))
find_unused_parameters = True
# K-Net R-50 pretrained on COCO panoptic: configs/knet/knet_r50_fpn_official_ms-3x_coco-panoptic.py,
# or an official checkpoint converted with tools/model_converters/video_knet_official_to_mmvps.py
load_from = 'work_dirs/knet_r50_fpn_official_ms-3x_coco-panoptic/epoch_12.pth'

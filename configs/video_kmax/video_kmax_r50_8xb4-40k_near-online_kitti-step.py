# Video-kMaX R-50 near-online on KITTI-STEP (P Tab. 1a: SQ 74.2, AQ 74.2, STQ 74.2 on val).
# Clips of 2 frames (training and test), test clips overlap by 1 (P Sec. 4.2); Video Stitching
# then HiLA-MB. Initialise from a kMaX R-50 trained on Cityscapes in the STEP label space
# (kmax_r50_8xb4-60k_cityscapes-step.py; P Sec. 4.2: ImageNet, then Cityscapes).
# P gives no KITTI-STEP recipe: crop 384x1248 (deeplab2's STEP crop 385x1249 as a multiple of 32),
# scale 0.5-2.0 (deeplab2 Motion-DeepLab KITTI-STEP), MaXTron's fine-tuning schedule, kMaX's loss
# weights, kMaX Cityscapes post-processing thresholds (see README.md).
_base_ = [
    '../_base_/models/video_kmax_r50.py', '../_base_/datasets/kitti_step.py',
    '../_base_/schedules/schedule_kmax_40k.py', '../_base_/default_runtime.py'
]

num_thing_classes = 2
num_stuff_classes = 17
num_classes = num_thing_classes + num_stuff_classes
input_size = (384, 1248)  # (h, w)
clip_length = 2

model = dict(
    segmenter=dict(
        num_thing_classes=num_thing_classes,
        num_stuff_classes=num_stuff_classes,
        input_size=input_size,
        pixel_decoder=dict(input_size=input_size),
        transformer_decoder=dict(num_classes=num_classes),
        semantic_head=dict(num_classes=num_classes),
        criterion=dict(
            num_classes=num_classes,
            loss_instance_discrimination=dict(
                type='PixelInstanceDiscriminationLoss', num_samples=4096,
                sample_temperature=0.6, loss_weight=1.0),
            loss_semantic=dict(type='SampledSemanticLoss', num_samples=0, loss_weight=1.0)),
        # kMaX Cityscapes (deeplab2 cityscapes textproto): reorder by class score only
        post_processor=dict(
            pixel_confidence_threshold=0.4,
            thing_threshold=0.5,
            stuff_threshold=0.3,
            overlap_threshold=0.9,
            reorder_class_weight=1.0,
            reorder_mask_weight=0.0,
            thing_area_limit=256,
            stuff_area_limit=2048)))

train_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, frame_stride=1),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=_base_.img_scale, ratio_range=(0.5, 2.0),
                 keep_ratio=True),
            dict(type='RandomCrop', crop_size=(1248, 384), crop_type='absolute',
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='FilterTrackAnnotations'),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, clip_overlap=1, test_mode=True),
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
            dict(type='Resize', scale=_base_.img_scale, keep_ratio=True),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('seg_map_path', ))
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=clip_length, clip_overlap=1),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

default_hooks = dict(checkpoint=dict(by_epoch=False, interval=5000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)

# converted or trained kMaX R-50 on Cityscapes in the STEP label space (README.md)
load_from = None

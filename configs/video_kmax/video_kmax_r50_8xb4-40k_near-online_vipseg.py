# Video-kMaX R-50 near-online on VIPSeg (P Tab. 2a: SQ 45.1, AQ 35.3, STQ 39.9, VPQ 38.2 on val).
# Clips of 2 frames, test clips overlapping by 1, Video Stitching then HiLA-MB. Initialise from
# kMaX R-50 on COCO panoptic (P Sec. 4.2; kmax_r50_8xb8-150k_coco-panoptic.py or a converted
# bytedance/kmax-deeplab checkpoint). MaXTron's VIPSeg clip recipe (maxtron_wc_r50.yaml): crop
# 768x1344 (769x1345 as a multiple of 32), scale 0.3-1.7, AdamW 5e-5, 40k iterations, 32 clips;
# its post-processing thresholds; kMaX's loss weights (P gives none; MaXTron's 4 / 5 / 0.1 in
# README.md).
_base_ = [
    '../_base_/models/video_kmax_r50.py', '../_base_/datasets/vipseg.py',
    '../_base_/schedules/schedule_kmax_40k.py', '../_base_/default_runtime.py'
]

num_thing_classes = 58
num_stuff_classes = 66
num_classes = num_thing_classes + num_stuff_classes
input_size = (768, 1344)  # (h, w)
crop_size = (1344, 768)  # (w, h) for mmdet's RandomCrop
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
                sample_temperature=1.8, loss_weight=1.0),
            loss_semantic=dict(
                type='SampledSemanticLoss', num_samples=4096, sample_temperature=2.4,
                loss_weight=1.0)),
        post_processor=dict(
            pixel_confidence_threshold=0.3,
            thing_threshold=0.2,
            stuff_threshold=0.3,
            overlap_threshold=0.8,
            reorder_class_weight=1.0,
            reorder_mask_weight=1.0,
            thing_area_limit=0,
            stuff_area_limit=0)))

train_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, frame_stride=1),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=crop_size, ratio_range=(0.3, 1.7), keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, crop_type='absolute',
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
# kMaX R-50 on COCO panoptic, converted with tools/model_converters/kmax_deeplab_to_mmvps.py
# --video (README.md)
load_from = None

# Video-kMaX R-50 online on VSPW (video semantic segmentation; P Tab. 3a: mIoU 44.3, mVC8 86.0,
# mVC16 81.4 on val). Every one of VSPW's 124 classes is a stuff class (P does not say how the VSS
# model is trained; spec video_kmax.md section 4.1), every frame its own clip, and the semantic map
# is argmax_c sum_n p_cls(n, c) p_mask(n, pixel) (kMaX's semantic inference); no association.
# Initialise from kMaX R-50 on COCO panoptic (P Sec. 4.2). P gives no VSPW recipe: MaXTron's VIPSeg
# one (crop 768x1344, scale 0.3-1.7, AdamW 5e-5, 40k iterations).
_base_ = [
    '../_base_/models/video_kmax_r50.py', '../_base_/datasets/vspw.py',
    '../_base_/schedules/schedule_kmax_40k.py', '../_base_/default_runtime.py'
]

num_thing_classes = 0
num_stuff_classes = 124
num_classes = num_thing_classes + num_stuff_classes
input_size = (768, 1344)  # (h, w)
crop_size = (1344, 768)  # (w, h)
clip_length = 1

model = dict(
    use_stitching=False,
    tracker=None,
    segmenter=dict(
        num_thing_classes=num_thing_classes,
        num_stuff_classes=num_stuff_classes,
        input_size=input_size,
        pixel_decoder=dict(input_size=input_size),
        transformer_decoder=dict(num_classes=num_classes),
        semantic_head=dict(num_classes=num_classes),
        criterion=dict(num_classes=num_classes),
        post_processor=dict(mode='semantic')))

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
                 allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, clip_overlap=0, test_mode=True),
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
    sampler=dict(type='VideoBalancedTestSampler', clip_length=clip_length, clip_overlap=0),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

default_hooks = dict(checkpoint=dict(by_epoch=False, interval=5000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
load_from = None

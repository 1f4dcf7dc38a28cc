# VSPW_480p for TCB (spec tcb.md section 3, the released code's data): training clips of a
# target and references at offsets (3, 6, 9) in a frame list reversed with p = 0.5, one clip
# per video per epoch; one augmentation for all frames of a clip (h-flip, scale in
# {0.8, 1, 1.5, 2}, crop 479 x 479 padded with image 0 / label 255). Test: every frame once,
# whole 480p frame, single scale, streamed in order.
_base_ = './vspw.py'

ref_offsets = (3, 6, 9)
crop_size = (479, 479)  # (w, h)
# scale the short side (480 in VSPW_480p) by 0.8, 1, 1.5, 2; the long side is unbounded
train_scales = [(100000, 384), (100000, 480), (100000, 720), (100000, 960)]

train_pipeline = [
    dict(type='TemporalOffsetFrameSample', offsets=ref_offsets, reverse_prob=0.5),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomChoiceResize', scales=train_scales, keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, crop_type='absolute',
                 allow_negative_crop=True),
            dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=1, clip_overlap=0, test_mode=True),
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('seg_map_path', ))
]
train_dataloader = dict(
    batch_size=2,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),  # one clip per video
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=1, clip_overlap=0),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Synthetic video semantic set in VSPW's layout, with hard frames (noise, motion blur, low
# contrast; GT unchanged), written by
#   python tools/misc/make_synthetic_vps.py data/synthetic_vss --format vspw
# (48 train / 8 val videos of 24 frames, 96x160, 6 classes). Small enough for CPU runs of the
# temporal models (TCB); hard_frames.json beside the data lists the hard frames.
_base_ = './vspw.py'

dataset_type = 'SyntheticVSSDataset'  # VSPWDataset with the six synthetic classes
data_root = 'data/synthetic_vss/'
img_scale = (160, 96)  # (w, h): the generator's default frame size
crop_size = (160, 96)  # (w, h)

train_pipeline = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=2, filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=img_scale, ratio_range=(0.8, 1.25), keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, crop_type='absolute',
                 allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('seg_map_path', ))
]

train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='VideoSemSegMetric', vc_windows=(8, 16))
test_evaluator = val_evaluator

# VIPER-VPS, in the layout VPSNet's code reads (the converted data was never released):
# <split>/img/<seq>_<frame>.jpg + <split>/panoptic_video/*.png + viper_panoptic_<split>_video.json.
# VPSNet only names the val split (val_day); the train names follow the same pattern.
dataset_type = 'VIPERVPSDataset'
data_root = 'data/viper_vps/'
backend_args = None
img_scale = (1920, 1080)  # (w, h)
crop_size = (1600, 800)  # (w, h): mmdet's RandomCrop takes width first

train_pipeline = [
    # Video K-Net: a key frame and one reference frame within +-2 frames
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=2, filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile', backend_args=backend_args),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=img_scale, ratio_range=(0.5, 2.0), keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, crop_type='absolute',
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='FilterTrackAnnotations'),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile', backend_args=backend_args),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('img_id', 'seg_map_path'))
]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='TrackImgSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='viper_panoptic_train_day_video.json',
        data_prefix=dict(img='train_day/img/', seg='train_day/panoptic_video/'),
        filter_cfg=dict(filter_unannotated=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='VideoBalancedTestSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='viper_panoptic_val_day_video.json',
        data_prefix=dict(img='val_day/img/', seg='val_day/panoptic_video/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='VideoPanopticMetric', windows='viper')
test_evaluator = val_evaluator

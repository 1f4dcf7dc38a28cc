# Cityscapes-VPS (VPSNet layout, data/cityscapes_vps). Training reads the annotated frames
# (train/img + train/labelmap + the RLE instance masks with inst_id tracks); validation streams the
# whole 30-frame snippets of val/img_all, of which the 6 annotated frames (panoptic_video ground
# truth) are evaluated.
dataset_type = 'CityscapesVPSDataset'
data_root = 'data/cityscapes_vps/'
backend_args = None
img_scale = (2048, 1024)  # (w, h)
crop_size = (1024, 1024)  # (w, h): mmdet's RandomCrop takes width first

train_pipeline = [
    # Video K-Net: a key frame and one reference frame within +-2 annotated frames
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
            # frames between the annotated ones get void ground truth and is_annotated=False
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
        ann_file='instances_train_city_vps_rle.json',
        data_prefix=dict(img='train/img/', seg='train/labelmap/'),
        seg_format='cityscapes_labelmap_rle',
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
        ann_file='im_all_info_val_city_vps.json',
        panoptic_ann='panoptic_gt_val_city_vps.json',
        data_prefix=dict(img='val/img_all/', seg='val/panoptic_video/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='VideoPanopticMetric', windows='cityscapes_vps')
test_evaluator = val_evaluator

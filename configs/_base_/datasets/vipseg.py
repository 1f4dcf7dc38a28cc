# VIPSeg in its raw layout (imgs/ + 16-bit panomasks/ + train.txt / val.txt), as Video K-Net and
# OMG-Seg read it. Frame names are VSPW frame indices (step 3): the dataset lists and sorts them.
dataset_type = 'VIPSegDataset'
data_root = 'data/VIPSeg/'
backend_args = None
img_scale = (1280, 720)  # (w, h)
crop_size = (1280, 720)  # (w, h): mmdet's RandomCrop takes width first

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
            # ground truth stays at the original size for the metric
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('seg_map_path', ))
]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='TrackImgSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.txt',
        data_prefix=dict(img='imgs/', seg='panomasks/'),
        filter_cfg=dict(filter_unannotated=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    # whole videos per rank, balanced by frame count, streamed one frame per sample in order
    sampler=dict(type='VideoBalancedTestSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val.txt',
        data_prefix=dict(img='imgs/', seg='panomasks/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='VideoPanopticMetric', windows='vipseg')
test_evaluator = val_evaluator

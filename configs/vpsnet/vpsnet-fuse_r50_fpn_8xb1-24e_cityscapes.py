# VPSNet-Fuse on the Cityscapes *image* panoptic split (released configs/cityscapes/fuse.py;
# spec vpsnet.md §5, FU:185-228): the third stage of the weight chain, whose weights the
# Cityscapes-VPS FuseTrack config loads. Key frame: one of the 2975 Cityscapes train images with
# its panoptic ground truth; reference: its raw neighbour frame -1 or +1 (uniformly) from
# leftImg8bit_sequence, without ground truth (CityscapesSequenceFuseDataset). One resize
# (2048 x 1024 x U(0.8, 1.5)), crop 800 x 1600 and flip for both frames. 8 GPUs x 1 sample,
# SGD lr 0.005, RepeatDataset x8 x 24 epochs, lr x0.1 at epochs 16 and 22; initialised from the
# VIPER Fuse model. Test: Cityscapes val images at 2048 x 1024, the previous raw frame as the
# reference (as released), image PQ (VPQ window 1) on the annotated frame.
# Paper (Table 3, Cityscapes val): Fuse + VIPER 62.2 PQ (the text says 62.6).
# Initial flow: PWCLiteFlow, as in the Cityscapes-VPS FuseTrack config it feeds (the paper's
# frozen FlowNet2: the extra neck of
# vpsnet-fusetrack_r50_fpn_flownet2_8xb1-28.8k_cityscapes-vps.py).
# Data: cityscapesScripts csCreatePanopticImgs output (gtFine/cityscapes_panoptic_{train,val}.json
# and the PNG folders), leftImg8bit and leftImg8bit_sequence under data/cityscapes.
_base_ = './vpsnet-fuse_r50_fpn_8xb1-28.8k_cityscapes-vps.py'

dataset_type = 'CityscapesSequenceFuseDataset'
data_root = 'data/cityscapes/'
train_pipeline = [
    # the annotated image is the key frame (the dataset says which); the reference is one of
    # its neighbours (frame -1 or +1)
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=1, filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.8, 1.5),
                 keep_ratio=True),
            dict(type='RandomCrop', crop_size=(1600, 800), crop_type='absolute',
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='FilterTrackAnnotations'),
        ]),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=1, clip_overlap=0, test_mode=True),
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('img_id', 'seg_map_path'))
]
train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=8,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file='gtFine/cityscapes_panoptic_train.json',
            data_prefix=dict(img='leftImg8bit/train/', seg='gtFine/cityscapes_panoptic_train/',
                             ref='leftImg8bit_sequence/train/'),
            ref_offsets=(-1, 1),
            pipeline=train_pipeline)))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='gtFine/cityscapes_panoptic_val.json',
        data_prefix=dict(img='leftImg8bit/val/', seg='gtFine/cityscapes_panoptic_val/',
                         ref='leftImg8bit_sequence/val/'),
        ref_offsets=(-1, ),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VideoPanopticMetric', windows=(1, ))
test_evaluator = val_evaluator

max_epochs = 24
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[16, 22],
         gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=12))
log_processor = dict(by_epoch=True)
# the VIPER Fuse weights (configs/vpsnet/vpsnet-fuse_r50_fpn_8xb1-12e_viper.py)
load_from = 'checkpoints/vpsnet/vpsnet-fuse_viper.pth'

# A config of *another* OpenMMLab project (default scope 'mmdet', inherited from mmdet's own
# runtime) that trains and tests an mmvps model on an mmvps dataset with mmdet's tools:
#
#   python $(python -c "import mmdet, os; print(os.path.dirname(mmdet.__file__))")/.mim/tools/train.py \
#       THIS_CONFIG
#   python .../mmdet/.mim/tools/test.py THIS_CONFIG work_dirs/<name>/iter_6000.pth
#
# `custom_imports` imports mmvps; every mmvps module is named `mmvps.<Name>` (mmdet / mmengine /
# mmcv modules need no prefix). The children of an mmvps module (the detector, heads and losses
# inside `mmvps.VideoKNet`) are built in the mmvps scope, so inside it unprefixed names of
# mmvps and mmdet modules both resolve; modules of a third project inside an mmvps module need
# that project's prefix. The same model, data and schedule as
# configs/video_knet/video_knet_r18_synthetic.py.
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['mmvps'], allow_failed_imports=False)

data_root = 'data/synthetic_vps/'
img_scale = (160, 96)  # (w, h)
num_things, num_stuff = 3, 3
channels, num_proposals = 64, 30
group_norm = dict(type='GN', num_groups=16, requires_grad=True)
kernel_updator = dict(type='mmvps.KernelUpdator', in_channels=channels, feat_channels=channels)

model = dict(
    type='mmvps.VideoKNet',
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    detector=dict(
        type='mmvps.KNet',
        backbone=dict(
            type='ResNet', depth=18, base_channels=16, num_stages=4, out_indices=(0, 1, 2, 3),
            frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
            style='pytorch', init_cfg=None),
        neck=[
            dict(type='FPN', in_channels=[16, 32, 64, 128], out_channels=channels,
                 start_level=0, num_outs=4),
            dict(type='mmvps.SemanticFPN', in_channels=channels, feat_channels=channels,
                 out_channels=channels, num_levels=4, norm_cfg=group_norm,
                 positional_encoding=dict(
                     type='SinePositionalEncoding', num_feats=channels // 2, normalize=True)),
        ],
        kernel_head=dict(
            type='mmvps.ConvKernelHead', num_proposals=num_proposals,
            num_thing_classes=num_things, num_stuff_classes=num_stuff, in_channels=channels,
            out_channels=channels, num_loc_convs=1, num_seg_convs=1, norm_cfg=group_norm,
            loss_mask=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_dice=dict(type='DiceLoss', loss_weight=4.0)),
        kernel_iter_head=dict(
            type='mmvps.KernelIterHead', num_stages=3, stage_loss_weights=[1, 1, 1],
            num_proposals=num_proposals, num_thing_classes=num_things,
            num_stuff_classes=num_stuff,
            mask_head=dict(
                type='mmvps.KernelUpdateHead', num_classes=num_things + num_stuff,
                in_channels=channels, num_heads=4, feedforward_channels=256, num_ffn_fcs=2,
                num_cls_fcs=1, num_mask_fcs=1, dropout=0.0, with_feat_transform=True,
                kernel_updator_cfg=kernel_updator,
                loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                              loss_weight=2.0),
                loss_mask=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                loss_dice=dict(type='DiceLoss', loss_weight=4.0)),
            kernel_fusion=dict(
                type='mmvps.KernelFusion', in_channels=channels, num_heads=4,
                feedforward_channels=256, num_ffn_fcs=2, kernel_updator_cfg=kernel_updator)),
        train_cfg=dict(
            kernel_head=dict(
                assigner=dict(type='HungarianAssigner', match_costs=[
                    dict(type='DiceCost', weight=4.0, pred_act=True),
                    dict(type='CrossEntropyLossCost', weight=1.0, use_sigmoid=True)]),
                sampler=dict(type='MaskPseudoSampler')),
            kernel_iter_head=dict(
                assigner=dict(type='HungarianAssigner', match_costs=[
                    dict(type='FocalLossCost', weight=2.0),
                    dict(type='DiceCost', weight=4.0, pred_act=True),
                    dict(type='CrossEntropyLossCost', weight=1.0, use_sigmoid=True)]),
                sampler=dict(type='MaskPseudoSampler'))),
        test_cfg=dict(max_per_img=num_proposals, mask_thr=0.05, instance_score_thr=0.3,
                      stuff_score_thr=0.05, overlap_thr=0.6, stuff_min_area=16,
                      merge_mode='thing_first')),
    kernel_linking=dict(type='mmvps.KernelLinking', in_channels=channels, num_heads=4,
                        feedforward_channels=256, num_ffn_fcs=2),
    track_head=dict(
        type='mmvps.KernelAssociationEmbedHead', in_channels=channels, embed_channels=channels,
        num_fcs=2, pos_iou_thr=0.7, neg_iou_thr=0.3,
        loss_track=dict(type='mmvps.AssociationContrastiveLoss', loss_weight=0.25),
        loss_track_aux=dict(type='mmvps.AssociationL2Loss', loss_weight=1.0)),
    tracker=dict(
        type='mmvps.QuasiDenseKernelTracker', init_score_thr=0.3, obj_score_thr=0.3,
        match_score_thr=0.5, num_frames_retain=5, memo_backdrop_frames=1, memo_momentum=0.8,
        nms_conf_thr=0.5, with_cats=True, match_metric='bisoftmax'))

train_pipeline = [
    dict(type='UniformRefFrameSample', num_ref_imgs=1, frame_range=2, filter_key_img=True),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='mmvps.LoadVideoPanopticAnnotations'),
            dict(type='RandomResize', scale=img_scale, ratio_range=(0.8, 1.5), keep_ratio=True),
            dict(type='RandomCrop', crop_size=img_scale, crop_type='absolute',
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='mmvps.FilterTrackAnnotations'),
        ]),
    dict(type='mmvps.PackVideoPanopticInputs')
]
test_pipeline = [
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='mmvps.LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='mmvps.PackVideoPanopticInputs', meta_keys=('seg_map_path', ))
]
train_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='TrackImgSampler'),
    dataset=dict(
        type='mmvps.SyntheticVPSDataset',
        data_root=data_root,
        ann_file='train.txt',
        filter_cfg=dict(filter_unannotated=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='mmvps.VideoBalancedTestSampler'),
    dataset=dict(
        type='mmvps.SyntheticVPSDataset',
        data_root=data_root,
        ann_file='val.txt',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmvps.VideoPanopticMetric', windows='vipseg')
test_evaluator = val_evaluator

max_iters = 6000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=1, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.8)], gamma=0.1)
]

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=max_iters),
    # mmdet's tools/test.py --show-dir turns on the hook named 'visualization'
    visualization=dict(_delete_=True, type='mmvps.VideoPanopticVisualizationHook'))
custom_hooks = [dict(type='mmvps.ClassCheckHook')]
visualizer = dict(type='mmvps.VideoPanopticVisualizer')
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)

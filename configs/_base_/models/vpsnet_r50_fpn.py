# VPSNet (spec vpsnet.md §1, §3): Mask R-CNN R-50-FPN, the Base extra neck (mmdet BFP: gather
# P2-P6 to P2 by their mean, 3x3 conv + ReLU, redistribute), the UPSNet semantic head (shared
# DCNv1 + GN on P2-P5), the parameter-free panoptic head and the MaskTrack R-CNN track head with
# VPSNet's tracker. Cityscapes-VPS classes: 8 things, 11 stuff (mmvps order: things first).
num_things = 8
num_stuff = 11
model = dict(
    type='VPSNet',
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5),
    # Base neck; the Fuse models replace it with the align-and-attend fusion neck
    extra_neck=dict(type='BFP', in_channels=256, num_levels=5, refine_level=0,
                    refine_type='conv'),
    rpn_head=dict(
        type='RPNHead',
        in_channels=256,
        feat_channels=256,
        anchor_generator=dict(
            type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
            strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0)),
    roi_head=dict(
        type='VPSNetRoIHead',
        panoptic_cfg=dict(
            score_thr=0.6, nms=dict(type='nms', iou_threshold=0.5, class_agnostic=True),
            max_per_img=100),
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=num_things,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)),
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=2),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=4,
            in_channels=256,
            conv_out_channels=256,
            num_classes=num_things,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    semantic_head=dict(
        type='UPSNetSemanticHead',
        num_classes=num_things + num_stuff,
        in_channels=256,
        channels=(256, 128, 128),
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        dcn_backend='mmcv',
        loss_weight=1.0),
    panoptic_head=dict(
        type='PanopticLogitsHead', num_things=num_things, num_stuff=num_stuff,
        overlap_thr=0.3, stuff_area_limit=2048, loss_weight=0.5),
    track_head=dict(
        type='VPSNetTrackHead',
        num_fcs=2,
        roi_feat_size=7,
        in_channels=256,
        fc_out_channels=1024,
        last_relu=False,
        loss_match=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5),
        init_cfg=dict(type='Normal', layer='Linear', std=0.01)),
    track_feats='fused',
    tracker=dict(type='VPSNetTracker', match_weights=dict(det_score=1.0, iou=2.0, det_label=10.0)),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(nms_pre=2000, max_per_img=2000,
                          nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            mask_size=28,
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100,
                  mask_thr_binary=0.5)))

# Small CPU K-Net: ResNet-18 with 16 base channels (random init), 64-channel FPN / Semantic FPN,
# 30 thing kernels, 3 kernel update stages. Forward + backward of two 128x224 frames takes well
# under a second on 2 CPU cores. Dataset configs set the class numbers.
num_things_classes = 3
num_stuff_classes = 3
num_classes = num_things_classes + num_stuff_classes
num_proposals = 30
num_stages = 3
channels = 64

model = dict(
    type='KNet',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch'),
    neck=[
        dict(
            type='FPN',
            in_channels=[16, 32, 64, 128],
            out_channels=channels,
            start_level=0,
            num_outs=4),
        dict(
            type='SemanticFPN',
            in_channels=channels,
            feat_channels=channels,
            out_channels=channels,
            num_levels=4,
            positional_encoding=dict(
                type='SinePositionalEncoding', num_feats=channels // 2, normalize=True),
            norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)),
    ],
    kernel_head=dict(
        type='ConvKernelHead',
        num_proposals=num_proposals,
        num_thing_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        in_channels=channels,
        out_channels=channels,
        num_loc_convs=1,
        num_seg_convs=1,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        loss_mask=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_dice=dict(type='DiceLoss', loss_weight=4.0)),
    kernel_iter_head=dict(
        type='KernelIterHead',
        num_stages=num_stages,
        stage_loss_weights=[1] * num_stages,
        num_proposals=num_proposals,
        num_thing_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        mask_head=dict(
            type='KernelUpdateHead',
            num_classes=num_classes,
            in_channels=channels,
            num_heads=4,
            feedforward_channels=256,
            num_ffn_fcs=2,
            num_cls_fcs=1,
            num_mask_fcs=1,
            dropout=0.0,
            with_feat_transform=True,
            kernel_updator_cfg=dict(
                type='KernelUpdator', in_channels=channels, feat_channels=channels),
            loss_cls=dict(
                type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=2.0),
            loss_mask=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_dice=dict(type='DiceLoss', loss_weight=4.0))),
    train_cfg=dict(
        kernel_head=dict(
            assigner=dict(
                type='HungarianAssigner',
                match_costs=[
                    dict(type='DiceCost', weight=4.0, pred_act=True),
                    dict(type='CrossEntropyLossCost', weight=1.0, use_sigmoid=True),
                ]),
            sampler=dict(type='MaskPseudoSampler')),
        kernel_iter_head=dict(
            assigner=dict(
                type='HungarianAssigner',
                match_costs=[
                    dict(type='FocalLossCost', weight=2.0),
                    dict(type='DiceCost', weight=4.0, pred_act=True),
                    dict(type='CrossEntropyLossCost', weight=1.0, use_sigmoid=True),
                ]),
            sampler=dict(type='MaskPseudoSampler'))),
    test_cfg=dict(
        max_per_img=30,
        mask_thr=0.5,
        instance_score_thr=0.3,
        stuff_score_thr=0.05,
        overlap_thr=0.6,
        stuff_min_area=16,
        merge_mode='thing_first'))

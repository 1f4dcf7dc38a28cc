# K-Net R-50 as the official Video K-Net code builds its detector (lxtGH/Video-K-Net,
# configs/det/_base_/models/knet_kitti_step_s3_r50_fpn.py and the video configs' overrides):
# * Semantic FPN at stride 8 with an aux conv: `out` feeds the thing branch, `aux` the stuff one;
# * a semantic head over all classes (with bias) whose stuff rows are the stuff kernels, softmax
#   CE on it (`loss_seg`), K-Net's rank loss (0.1) on the thing initial masks, BCE / Dice on the
#   thing initial masks only;
# * thing kernels entering stage 1 add the features under their binarised initial masks;
# * group features assembled under binarised (> 0.5) masks;
# * masks upsampled x4 (stride 2) for matching and losses; stage s matched on stage s-1's
#   detached outputs; K-Net's Dice / mask match costs;
# * void / crowd / padding pixels trained as background, GT masks resized bilinearly (soft);
# * the official joint paste (thing score 0.25, kept-area ratio 0.6, no stuff filter), sigmoid
#   before resizing the masks to the image.
# mmvps choices kept here: crowd regions are background (the official KITTI-STEP loader trains
# them as instances), unassigned pixels are void at inference (official: class 0).
# Dataset configs set the class numbers.
_base_ = './knet_r50_fpn.py'

channels = 256
official_semantic_fpn = dict(
    type='SemanticFPN',
    in_channels=channels,
    feat_channels=channels,
    out_channels=channels,
    num_levels=4,
    out_stride=8,
    num_aux_convs=1,
    conv_init_std=0.01,
    positional_encoding=dict(
        type='SinePositionalEncoding', num_feats=channels // 2, normalize=True),
    norm_cfg=dict(type='GN', num_groups=32, requires_grad=True))
model = dict(
    ignore_void=False,
    soft_gt_masks=True,
    neck=[
        dict(
            type='FPN',
            in_channels=[256, 512, 1024, 2048],
            out_channels=channels,
            start_level=0,
            add_extra_convs='on_input',
            num_outs=4),
        official_semantic_fpn,
    ],
    kernel_head=dict(
        semantic_head=True,
        proposal_feats_with_obj=True,
        stuff_mask_losses=False,
        mask_upsample_stride=4,
        kernel_init_std=1.0,
        conv_init_std=0.01,
        loss_seg=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_rank=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1)),
    kernel_iter_head=dict(
        mask_upsample_stride=4,
        assign_on_previous=True,
        mask_head=dict(hard_mask_thr=0.5)),
    train_cfg=dict(
        kernel_head=dict(
            assigner=dict(
                type='HungarianAssigner',
                match_costs=[
                    dict(type='KNetDiceCost', weight=4.0),
                    dict(type='KNetMaskCost', weight=1.0),
                ]),
            sampler=dict(type='MaskPseudoSampler')),
        kernel_iter_head=dict(
            assigner=dict(
                type='HungarianAssigner',
                match_costs=[
                    dict(type='FocalLossCost', weight=2.0),
                    dict(type='KNetDiceCost', weight=4.0),
                    dict(type='KNetMaskCost', weight=1.0),
                ]),
            sampler=dict(type='MaskPseudoSampler'))),
    test_cfg=dict(
        max_per_img=100,
        instance_score_thr=0.25,
        overlap_thr=0.6,
        merge_mode='official_joint',
        rescale_probs=True))

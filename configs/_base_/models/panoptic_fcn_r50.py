# PanopticFCN R-50 for Clip-PanoFCN on VIPSeg (spec clip_panofcn.md section 2): ResNet-50 (MSRA /
# caffe style, frozen BN, stem + res2 frozen), FPN P2..P7 (P6 from the P5 output, P7 from ReLU(P6)),
# Semantic FPN on P2..P5 -> 3-conv 64-d feature encoder with coordinate channels, position head
# (3 modulated deformable convs + GN; 58 thing heatmaps, 66 stuff + 1 thing region maps) and
# kernel head (coordinate channels + 3 convs + GN) shared over P3..P7, 256 -> 64 projections.
# The video model (ClipPanopticFCN: clip length, kernel fusion, mask merge, tracker) adds its own
# keys on top of `backbone`, `neck` and `panoptic_head`; tools/model_converters/
# panopticfcn_to_mmvps.py writes exactly these three prefixes.
num_things = 58
num_stuff = 66
gn = dict(type='GN', num_groups=32, requires_grad=True)

model = dict(
    type='ClipPanopticFCN',
    # MSRA / PanopticFCN* weights: BGR input minus (123.675, 116.28, 103.53), std 1. The
    # released Clip-PanoFCN VIPSeg model was trained on RGB with the same mean: set
    # bgr_to_rgb=True to test it (spec section 6 / quirk 3).
    data_preprocessor=dict(
        type='TrackDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False, pad_size_divisor=32, pad_mask=True, pad_seg=True, seg_pad_value=255),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='caffe',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=0,
        add_extra_convs='on_output',
        relu_before_extra_convs=True,
        num_outs=6),
    panoptic_head=dict(
        type='PanopticFCNHead',
        num_things=num_things,
        num_stuff=num_stuff,
        semantic_fpn=dict(
            type='SemanticFPN', in_channels=256, feat_channels=256, num_levels=4,
            out_conv=False, positional_encoding=None, norm_cfg=gn),
        feature_encoder=dict(type='FeatureEncoder', in_channels=256, channels=64, num_convs=3,
                             coord=True, deform=False, norm_cfg=None),
        position_head=dict(type='PositionHead', in_channels=256, channels=256, num_convs=3,
                           coord=False, deform=True, norm_cfg=gn, bias_value=-2.19),
        kernel_head=dict(type='KernelHead', in_channels=256, channels=256, num_convs=3,
                         coord=True, deform=False, norm_cfg=gn),
        embed_channels=64,
        semantic_levels=(0, 1, 2, 3),
        head_levels=(1, 2, 3, 4, 5),
        target_generator=dict(
            type='PanopticFCNTargetGenerator',
            instance_scales=((1, 64), (32, 128), (64, 256), (128, 512), (256, 2048)),
            min_overlap=0.7, sigma_factor=3, mask_stride=4),
        num_positives=3,
        # True: the released code's pairing of dice weights and positives (wrong for T > 1)
        released_weight_order=False,
        loss_center=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                         loss_weight=1.0),
        loss_region=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                         loss_weight=1.0),
        loss_mask=dict(type='DiceLoss', use_sigmoid=True, activate=True, naive_dice=False,
                       eps=1e-8, reduction='mean', loss_weight=3.0),
        test_cfg=dict(center_pool_sizes=(3, 3, 3, 5, 5), top_num=100, thing_thr=0.05,
                      stuff_thr=0.05)))

# Video K-Net (Li et al., CVPR 2022) on K-Net R50 (configs/_base_/models/knet_r50_fpn.py): kernel
# fusion at the start of the last stage, kernel linking and a kernel association embedding head
# on the last stage's thing kernels, quasi-dense kernel tracker. Values follow the paper and its
# official KITTI-STEP config. Method configs set the class numbers and may turn fusion off.
_base_ = './knet_r50_fpn.py'

channels = 256
detector = _base_.model
detector.pop('data_preprocessor')
detector.kernel_iter_head.kernel_fusion = dict(
    type='KernelFusion',
    in_channels=channels,
    num_heads=8,
    feedforward_channels=2048,
    num_ffn_fcs=2,
    kernel_updator_cfg=dict(type='KernelUpdator', in_channels=channels, feat_channels=channels))

model = dict(
    _delete_=True,
    type='VideoKNet',
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    detector=detector,
    kernel_linking=dict(
        type='KernelLinking', in_channels=channels, num_heads=8, feedforward_channels=2048,
        num_ffn_fcs=2),
    track_head=dict(
        type='KernelAssociationEmbedHead',
        in_channels=channels,
        embed_channels=256,
        num_fcs=2,
        pos_iou_thr=0.7,
        neg_iou_thr=0.3,
        loss_track=dict(type='AssociationContrastiveLoss', loss_weight=0.25),
        loss_track_aux=dict(type='AssociationL2Loss', loss_weight=1.0)),
    tracker=dict(
        type='QuasiDenseKernelTracker',
        init_score_thr=0.35,
        obj_score_thr=0.3,
        match_score_thr=0.5,
        num_frames_retain=5,
        memo_backdrop_frames=1,
        memo_momentum=0.8,
        nms_conf_thr=0.5,
        with_cats=True,
        match_metric='bisoftmax'))

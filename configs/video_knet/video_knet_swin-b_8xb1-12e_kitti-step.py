# Video K-Net Swin-B on KITTI-STEP (paper Tab. 2: STQ 0.74, AQ 0.72, SQ 0.73, VPQ 0.53 on val), as
# the official code builds it (lxtGH/Video-K-Net, configs/det/video_knet_kitti_step/
# video_knet_s3_swinb_rpn_1x_kitti_step_sigmoid_stride2_mask_embed_link_ffn_joint_update.py): the
# R-50 recipe with the Swin-B backbone (window 7, drop path 0.3), kernel fusion
# `update_dynamic_cov` (KernelFusion mode='official') and the `update` link
# (KernelLinking with_kernel_update=True). The official optimizer has no Swin no-decay keys (only
# backbone lr x0.25, weight decay 0.05). Initialize from K-Net Swin-B pretrained on Cityscapes in
# the STEP label space (the paper also uses Mapillary for Swin, see README).
_base_ = [
    './video_knet_r50_8xb1-12e_kitti-step.py', '../_base_/models/knet_swin-b-p4-w7_fpn.py'
]

channels = 256
model = dict(
    detector=dict(
        backbone=dict(_delete_=True, **_base_.swin_b_backbone),
        neck=[dict(_base_.swin_b_neck[0]), dict(_base_.official_semantic_fpn)],
        kernel_iter_head=dict(
            kernel_fusion=dict(
                type='KernelFusion',
                mode='official',
                in_channels=channels,
                num_heads=8,
                feedforward_channels=2048,
                num_ffn_fcs=2,
                kernel_updator_cfg=dict(
                    type='KernelUpdator', in_channels=channels, feat_channels=channels)))),
    kernel_linking=dict(with_kernel_update=True))
load_from = 'work_dirs/knet_swin-b-p4-w7_fpn_8e_cityscapes-step/epoch_8.pth'

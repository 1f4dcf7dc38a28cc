# Video K-Net Swin-B on KITTI-STEP (paper Tab. 2: STQ 0.74, AQ 0.72, SQ 0.73, VPQ 0.53 on val).
# Same recipe as the R-50 config with the Swin-B (ImageNet-22k) backbone of K-Net's Swin-B
# configs; initialize from K-Net Swin-B pretrained on Cityscapes (the paper also uses Mapillary
# for Swin, see README).
_base_ = [
    './video_knet_r50_8xb1-12e_kitti-step.py', '../_base_/models/knet_swin-b-p4-w7_fpn.py'
]

model = dict(
    detector=dict(
        backbone=dict(_delete_=True, **_base_.swin_b_backbone), neck=_base_.swin_b_neck))
optim_wrapper = dict(paramwise_cfg=_base_.swin_b_paramwise_cfg)

# K-Net Swin-B (ImageNet-22k, window 7) pretraining on Cityscapes in the STEP label space
# (official configs/det/knet_cityscapes_step/knet_s3_swin_b_fpn.py): the R-50 recipe with the
# Swin-B backbone; the official optimizer has no Swin no-decay keys. Its checkpoint initializes
# configs/video_knet/video_knet_swin-b_8xb1-12e_kitti-step.py.
_base_ = ['./knet_r50_fpn_8e_cityscapes-step.py', '../_base_/models/knet_swin-b-p4-w7_fpn.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.swin_b_backbone),
    neck=[dict(_base_.swin_b_neck[0]), dict(_base_.official_semantic_fpn)])

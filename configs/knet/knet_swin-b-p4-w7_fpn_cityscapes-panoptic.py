# K-Net Swin-B (ImageNet-22k, window 7) pretraining on Cityscapes panoptic (Cityscapes-VPS labels).
_base_ = ['./knet_r50_fpn_cityscapes-panoptic.py', '../_base_/models/knet_swin-b-p4-w7_fpn.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.swin_b_backbone), neck=_base_.swin_b_neck)
optim_wrapper = dict(paramwise_cfg=_base_.swin_b_paramwise_cfg)

# Video K-Net in its VSS mode on VSPW with ResNet-101, the paper's backbone for its VSPW row
# (Tab. 4; there on DeepLabv3+ / PSPNet, here on mmvps' K-Net): ./video_knet_r50_8xb1-40k_vspw.py
# with a deeper backbone.
_base_ = './video_knet_r50_8xb1-40k_vspw.py'

model = dict(
    detector=dict(
        backbone=dict(
            depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101'))))

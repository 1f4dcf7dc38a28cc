# Small CPU K-Net: K-Net R-50 (./knet_r50_fpn.py) shrunk to ResNet-18 with 16 base channels
# (random init), 64-channel FPN / Semantic FPN, 30 thing kernels, 3 kernel update stages.
# Forward + backward of two 128x224 frames takes well under a second on 2 CPU cores. Dataset
# configs set the class numbers.
_base_ = './knet_r50_fpn.py'

num_things_classes = 3
num_stuff_classes = 3
num_classes = num_things_classes + num_stuff_classes
num_proposals = 30
channels = 64
group_norm = dict(type='GN', num_groups=16, requires_grad=True)

model = dict(
    backbone=dict(
        depth=18, base_channels=16, frozen_stages=-1, norm_eval=False, init_cfg=None),
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
            norm_cfg=group_norm),
    ],
    kernel_head=dict(
        num_proposals=num_proposals,
        num_thing_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        in_channels=channels,
        out_channels=channels,
        norm_cfg=group_norm),
    kernel_iter_head=dict(
        num_proposals=num_proposals,
        num_thing_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        mask_head=dict(
            num_classes=num_classes,
            in_channels=channels,
            num_heads=4,
            feedforward_channels=256,
            kernel_updator_cfg=dict(in_channels=channels, feat_channels=channels))),
    test_cfg=dict(max_per_img=num_proposals, stuff_min_area=16))

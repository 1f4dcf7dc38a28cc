# Video K-Net Swin-B on KITTI-STEP (paper Tab. 2: STQ 0.74, AQ 0.72, SQ 0.73, VPQ 0.53 on val).
# Same recipe as the R-50 config with the Swin-B (ImageNet-22k) backbone of K-Net's Swin-B
# configs; initialize from K-Net Swin-B pretrained on Cityscapes (the paper also uses Mapillary
# for Swin, see README).
_base_ = './video_knet_r50_8xb1-12e_kitti-step.py'

pretrained = ('https://github.com/SwinTransformer/storage/releases/download/v1.0.0/'
              'swin_base_patch4_window7_224_22k.pth')
model = dict(
    detector=dict(
        backbone=dict(
            _delete_=True,
            type='SwinTransformer',
            pretrain_img_size=224,
            embed_dims=128,
            depths=[2, 2, 18, 2],
            num_heads=[4, 8, 16, 32],
            window_size=7,
            mlp_ratio=4,
            qkv_bias=True,
            qk_scale=None,
            drop_rate=0.0,
            attn_drop_rate=0.0,
            drop_path_rate=0.3,
            patch_norm=True,
            out_indices=(0, 1, 2, 3),
            with_cp=False,
            convert_weights=True,
            init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
        neck=[
            dict(
                type='FPN',
                in_channels=[128, 256, 512, 1024],
                out_channels=256,
                start_level=0,
                add_extra_convs='on_input',
                num_outs=4),
            dict(
                type='SemanticFPN',
                in_channels=256,
                feat_channels=256,
                out_channels=256,
                num_levels=4,
                positional_encoding=dict(
                    type='SinePositionalEncoding', num_feats=128, normalize=True),
                norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)),
        ]))

optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys=dict(
            absolute_pos_embed=dict(decay_mult=0.),
            relative_position_bias_table=dict(decay_mult=0.),
            norm=dict(decay_mult=0.))))

# Swin-B (ImageNet-22k, patch 4, window 7) backbone, its FPN + Semantic FPN neck and Swin's
# no-decay parameters, as K-Net's Swin-B configs use them. Shared by the K-Net and Video K-Net
# Swin-B configs, which put these pieces in place of the R-50 backbone and neck.
pretrained = ('https://github.com/SwinTransformer/storage/releases/download/v1.0.0/'
              'swin_base_patch4_window7_224_22k.pth')
swin_b_backbone = dict(
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
    init_cfg=dict(type='Pretrained', checkpoint=pretrained))
swin_b_neck = [
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
        positional_encoding=dict(type='SinePositionalEncoding', num_feats=128, normalize=True),
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)),
]
swin_b_paramwise_cfg = dict(
    custom_keys=dict(
        absolute_pos_embed=dict(decay_mult=0.),
        relative_position_bias_table=dict(decay_mult=0.),
        norm=dict(decay_mult=0.)))

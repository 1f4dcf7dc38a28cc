# clip-kMaX R-50 (kMaX-DeepLab's COCO / VIPSeg layout, spec video_kmax.md sections 1-4): ResNet-50,
# kMaX pixel decoder f = [512, 256, 128, 64] with [1, 5, 1, 1] blocks, 128 queries of 256
# channels, 2 + 2 + 2 k-means decoder layers, auxiliary semantic head, kMaX's loss weights.
# Dataset configs set num_thing_classes / num_stuff_classes, input_size and the thresholds.
norm_cfg = dict(type='SyncBN', eps=1e-3, momentum=0.01)
num_thing_classes = 80
num_stuff_classes = 53
input_size = (1280, 1280)  # (h, w): fixed padded size, a multiple of 32

model = dict(
    type='ClipKMaX',
    num_thing_classes=num_thing_classes,
    num_stuff_classes=num_stuff_classes,
    input_size=input_size,
    # RGB in [-1, 1] (kMaX-DeepLab); ClipKMaX pads to input_size with zeros after normalising
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True, pad_size_divisor=1),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    pixel_decoder=dict(
        type='KMaXPixelDecoder',
        in_channels=(256, 512, 1024, 2048),
        channels=(512, 256, 128, 64),
        num_blocks=(1, 5, 1, 1),
        block_types=('axial', 'axial', 'bottleneck', 'bottleneck'),
        num_heads=8,
        input_size=input_size,
        drop_path_rate=0.0,
        norm_cfg=norm_cfg),
    transformer_decoder=dict(
        type='KMaXTransformerDecoder',
        in_channels=(2048, 1024, 512),
        panoptic_channels=256,
        num_classes=num_thing_classes + num_stuff_classes,
        num_queries=128,
        hidden_dim=256,
        num_layers=(2, 2, 2),
        num_heads=8,
        attn_key_dim=128,
        ffn_dim=2048,
        mask_embed_dim=128,
        pixel_head_dim=256,
        drop_path_rate=0.2,
        norm_cfg=norm_cfg),
    semantic_head=dict(
        type='KMaXSemanticHead',
        in_channels=(256, 512, 2048),
        num_classes=num_thing_classes + num_stuff_classes,
        norm_cfg=norm_cfg),
    criterion=dict(type='KMaXCriterion', num_classes=num_thing_classes + num_stuff_classes),
    post_processor=dict(
        type='ClipPanopticPostProcessor',
        pixel_confidence_threshold=0.4,
        thing_threshold=0.7,
        stuff_threshold=0.5,
        overlap_threshold=0.8,
        reorder_class_weight=1.0,
        reorder_mask_weight=1.0,
        thing_area_limit=400,
        stuff_area_limit=6400))

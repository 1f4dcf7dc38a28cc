# kMaX-DeepLab R-50 on Cityscapes in the STEP label space (2 things: person, car; 17 stuff): the
# image pretraining of Video-kMaX's KITTI-STEP models (P Sec. 4.2: ImageNet, then Cityscapes).
# kMaX-DeepLab's Cityscapes recipe (deeplab2 cityscapes textproto, bytedance/kmax-deeplab
# cityscapes yaml; spec section 5): crop 1024x2048 (1025x2049 as a multiple of 32), scale 0.5-2.0,
# 32 images (8 GPUs x 4), AdamW lr 3e-4, wd 0.05, backbone lr x0.1, 60k iterations with 5k warmup
# then poly 0.9, 256 queries, instance discrimination sample temperature 0.6, the semantic loss on
# every pixel, Cityscapes post-processing. Deviation: the COCO pixel-decoder layout (no 5th OS2
# stage) and the full auxiliary semantic head, so that the weights load into the 4-stage
# KITTI-STEP video models. Not reproduced: the small-instance loss weight 3.0.
# Data: configs/_base_/datasets/cityscapes_step_panoptic.py.
_base_ = [
    '../_base_/models/clip_kmax_r50.py', '../_base_/datasets/cityscapes_step_panoptic.py',
    '../_base_/schedules/schedule_kmax_40k.py', '../_base_/default_runtime.py'
]

num_thing_classes = len(_base_.thing_classes)
num_stuff_classes = len(_base_.stuff_classes)
num_classes = num_thing_classes + num_stuff_classes
input_size = (1024, 2048)  # (h, w)

model = dict(
    num_thing_classes=num_thing_classes,
    num_stuff_classes=num_stuff_classes,
    input_size=input_size,
    pixel_decoder=dict(input_size=input_size),
    transformer_decoder=dict(num_classes=num_classes, num_queries=256),
    semantic_head=dict(num_classes=num_classes),
    criterion=dict(
        num_classes=num_classes,
        loss_instance_discrimination=dict(
            type='PixelInstanceDiscriminationLoss', num_samples=4096, sample_temperature=0.6,
            loss_weight=1.0),
        loss_semantic=dict(type='SampledSemanticLoss', num_samples=0, loss_weight=1.0)),
    post_processor=dict(
        pixel_confidence_threshold=0.4,
        thing_threshold=0.5,
        stuff_threshold=0.3,
        overlap_threshold=0.9,
        reorder_class_weight=1.0,
        reorder_mask_weight=0.0,
        thing_area_limit=256,
        stuff_area_limit=2048))

train_dataloader = dict(batch_size=4, sampler=dict(type='InfiniteSampler', shuffle=True))

max_iters = 60000
warmup_iters = 5000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=warmup_iters,
         end=max_iters)
]
optim_wrapper = dict(optimizer=dict(lr=3e-4))

default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=2),
    visualization=dict(type='DetVisualizationHook'))
log_processor = dict(by_epoch=False)
visualizer = dict(type='DetLocalVisualizer')

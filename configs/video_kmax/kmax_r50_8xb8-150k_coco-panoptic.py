# kMaX-DeepLab R-50 on COCO panoptic: the image pretraining of Video-kMaX's VIPSeg and VSPW models
# (P Sec. 4.2). It is clip-kMaX with clips of one image (ClipKMaX on [B, 3, H, W]). Recipe of
# kMaX-DeepLab (deeplab2 coco textproto, bytedance/kmax-deeplab coco yaml; spec section 5): crop
# 1280x1280 (1281 as a multiple of 32), scale 0.3-1.7, 64 images (8 GPUs x 8), AdamW lr 5e-4,
# wd 0.05, backbone lr x0.1, 150k iterations with 5k warmup then poly 0.9. Not reproduced: simple
# auto-augment and panoptic copy-paste. Reported (kMaX-DeepLab paper): PQ 53.0 on val with R-50.
# mmdet's COCO panoptic loader needs `panopticapi` (README).
_base_ = [
    'mmdet::_base_/datasets/coco_panoptic.py',
    '../_base_/models/clip_kmax_r50.py',
    '../_base_/schedules/schedule_kmax_40k.py',
    '../_base_/default_runtime.py',
]

input_size = (1280, 1280)
crop_size = (1280, 1280)
model = dict(input_size=input_size, pixel_decoder=dict(input_size=input_size))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.3, 1.7), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, crop_type='absolute', recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadPanopticAnnotations'),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 150000
warmup_iters = 5000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=warmup_iters,
         end=max_iters)
]
optim_wrapper = dict(optimizer=dict(lr=5e-4))
auto_scale_lr = dict(enable=False, base_batch_size=64)

default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=2),
    visualization=dict(type='DetVisualizationHook'))
log_processor = dict(by_epoch=False)
visualizer = dict(type='DetLocalVisualizer')

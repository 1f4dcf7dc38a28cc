# Video-kMaX ConvNeXt-L near-online on KITTI-STEP (P Tab. 1a: SQ 79.0, AQ 78.8, STQ 78.9 on val;
# P Tab. 1b test: SQ 69.8, AQ 67.2, STQ 68.5). ConvNeXt-L (ImageNet-22k, 384) with drop-path
# 0.3 (MaXTron's ConvNeXt-L value), initialised from kMaX ConvNeXt-L on COCO then Cityscapes
# (P Sec. 4.2).
_base_ = './video_kmax_r50_8xb4-40k_near-online_kitti-step.py'

model = dict(
    segmenter=dict(
        backbone=dict(
            _delete_=True,
            type='ConvNeXt',
            arch='large',
            drop_path_rate=0.3,
            out_indices=(0, 1, 2, 3)),
        pixel_decoder=dict(in_channels=(192, 384, 768, 1536)),
        semantic_head=dict(in_channels=(192, 384, 1536))))
# MaXTron's ConvNeXt-L schedule (maxtron_wc_convnext_large.yaml): 30k iterations, 1.5k warmup
max_iters = 30000
warmup_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=warmup_iters,
         end=max_iters)
]

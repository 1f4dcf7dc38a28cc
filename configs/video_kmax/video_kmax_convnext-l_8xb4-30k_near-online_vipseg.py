# Video-kMaX ConvNeXt-L near-online on VIPSeg (P Tab. 2a: SQ 61.4, AQ 43.5, STQ 51.7, VPQ 51.9 on
# val; Tab. 2b test: STQ 47.1, VPQ 45.0). MaXTron's ConvNeXt-L recipe
# (maxtron_wc_convnext_large.yaml): drop-path 0.3, 30k iterations, 1.5k warmup.
_base_ = './video_kmax_r50_8xb4-40k_near-online_vipseg.py'

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
max_iters = 30000
warmup_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=warmup_iters,
         end=max_iters)
]

# kMaX-style fine-tuning schedule (MaXTron's VIPSeg clip recipe, spec video_kmax.md section 5):
# AdamW lr 5e-5, weight decay 0.05 (none on norms, biases, relative position tables and cluster
# centres), backbone lr x0.1, linear warmup from 1e-3 over 2k iterations, then poly 0.9 to 40k; no
# gradient clipping. Learning rates are for 32 clips per iteration (8 GPUs x 4). The references
# train with mixed precision: pass --amp to tools/train.py on GPUs.
max_iters = 40000
warmup_iters = 2000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=warmup_iters,
         end=max_iters)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-5, weight_decay=0.05, betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'backbone': dict(lr_mult=0.1),
            'rpe': dict(decay_mult=0.0),
            'cluster_centers': dict(decay_mult=0.0),
            'gamma': dict(decay_mult=0.0),
        }))
auto_scale_lr = dict(enable=False, base_batch_size=32)

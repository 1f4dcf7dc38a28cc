# Iteration-based AdamW schedule (clip models and short CPU runs): set train_cfg.max_iters and
# the MultiStepLR milestones in the method config.
max_iters = 20000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.75)], gamma=0.1)
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, weight_decay=0.0001),
    clip_grad=dict(max_norm=1, norm_type=2))

default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters // 4))
log_processor = dict(by_epoch=False)

# base_batch_size = 8 GPUs x 1 video sample per GPU; tools/train.py --auto-scale-lr enables it
auto_scale_lr = dict(enable=False, base_batch_size=8)

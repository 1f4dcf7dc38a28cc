# 12 epochs, AdamW (lr 1e-4, weight decay 1e-4), lr steps at epochs 9 and 11 (Video K-Net's
# official schedule), gradient clipping as in K-Net
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[9, 11], gamma=0.1)
]

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, weight_decay=0.0001),
    clip_grad=dict(max_norm=1, norm_type=2))

# base_batch_size = 8 GPUs x 1 video sample per GPU; tools/train.py --auto-scale-lr enables it
auto_scale_lr = dict(enable=False, base_batch_size=8)

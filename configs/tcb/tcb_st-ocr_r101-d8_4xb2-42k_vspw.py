# TCB-st-ocr R-101 on VSPW_480p (P Tab. 2: val mIoU 37.40, mVC8 86.88, mVC16 82.04). Recipe of
# the released code (spec tcb.md section 3): 8 clips x 4 frames per iteration on 4 GPUs (2
# clips each, SyncBN), 42,000 iterations (120 epochs x 350), SGD momentum 0.9, weight decay 1e-4
# (0 on biases and BN beta), lr 0.002 for the heads and 0.0002 (x0.1) for the backbone, poly 0.9
# per iteration, no warm-up. Test: causal stream, references t-3, t-6, t-9 from the frame cache
# (the released code used future references: see tcb_st-ocr-mem_..._release_vspw.py).
_base_ = [
    '../_base_/models/tcb_st-ocr_r101-d8.py', '../_base_/datasets/vspw_tcb.py',
    '../_base_/default_runtime.py'
]

max_iters = 42000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=7000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=1e-4),
    # norm_decay_mult unset: BN gamma keeps its decay, BN beta (a bias) gets none, as in R
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}, bias_decay_mult=0.))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=0, end=max_iters)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=7000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=8)

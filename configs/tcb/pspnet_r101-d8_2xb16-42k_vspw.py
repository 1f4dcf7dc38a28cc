# PSPNet R-101 baseline on VSPW_480p (P Tab. 2: val mIoU 36.47, mVC8 84.16, mVC16 79.63): the
# st-ppm head with no reference frames. Released recipe (spec tcb.md section 3): 32 images per
# iteration on 2 GPUs (16 each), 42,000 iterations, SGD lr 0.002 for backbone and head,
# momentum 0.9, weight decay 1e-4 (0 on biases and BN), poly 0.9. R draws its 32 images as 4
# frames of each of 8 videos; here each image is one frame of its own video.
_base_ = './tcb_st-ppm_r101-d8_4xb2-42k_vspw.py'

model = dict(ref_offsets=())
train_dataloader = dict(
    batch_size=16,
    dataset=dict(pipeline=[
        dict(type='TemporalOffsetFrameSample', offsets=(), reverse_prob=0.),
        *_base_.train_pipeline[1:]
    ]))
optim_wrapper = dict(
    paramwise_cfg=dict(_delete_=True, norm_decay_mult=0., bias_decay_mult=0.))
auto_scale_lr = dict(enable=False, base_batch_size=32)

# OCRNet R-101 baseline on VSPW_480p (P Tab. 2: val mIoU 36.68, mVC8 83.97, mVC16 79.04): the
# st-ocr head with no reference frames; the recipe of pspnet_r101-d8_2xb16-42k_vspw.py.
_base_ = './tcb_st-ocr_r101-d8_4xb2-42k_vspw.py'

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

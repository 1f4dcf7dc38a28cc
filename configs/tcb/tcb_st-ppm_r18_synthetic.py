# CPU default of TCB-st-ppm on the synthetic video semantic set (spec tcb.md section 6): the
# st-ocr CPU default's backbone, data and schedule; pyramid pooling with 32 channels per bin
# and a 64-channel bottleneck.
_base_ = './tcb_st-ocr_r18_synthetic.py'

model = dict(
    aux_head=dict(dropout_ratio=0.1),
    decode_head=dict(
        _delete_=True, type='STPPMHead', in_channels=128, channels=64, pool_channels=32,
        pool_scales=(1, 2, 3, 6), num_classes=6, dropout_ratio=0.1,
        norm_cfg=dict(type='BN', requires_grad=True)))

# TCB-st-ppm R-101 on VSPW_480p (P Tab. 2: val mIoU 37.46, mVC8 86.95, mVC16 82.12): pyramid
# pooling whose pooled bins are averaged over the target and reference frames (spec tcb.md
# sections 1.2, 2.2), with the recipe of tcb_st-ocr_r101-d8_4xb2-42k_vspw.py (the released
# scripts share it).
_base_ = './tcb_st-ocr_r101-d8_4xb2-42k_vspw.py'

model = dict(
    aux_head=dict(dropout_ratio=0.1),  # PSPNet's deep supervision head
    decode_head=dict(
        _delete_=True, type='STPPMHead', in_channels=2048, channels=512,
        pool_scales=(1, 2, 3, 6), num_classes=124, dropout_ratio=0.1,
        norm_cfg=dict(type='SyncBN', requires_grad=True)))

# TCB-st-ocr-mem on VSPW_480p (P Tab. 2: val mIoU 37.82, mVC8 87.86, mVC16 83.99): the weights of
# TCB-st-ocr (the memory never enters training) tested with the object-region memory. mmvps's
# default follows the paper's text (P Sec. 4.1.1): a causal stream whose blended regions are the
# mean over the last 8 frames' region vectors (mode 'window'). Test with the st-ocr checkpoint:
# python tools/test.py configs/tcb/tcb_st-ocr-mem_r101-d8_4xb2-42k_vspw.py CKPT
_base_ = './tcb_st-ocr_r101-d8_4xb2-42k_vspw.py'

model = dict(memory=dict(type='ObjectRegionMemory', mode='window', size=8))

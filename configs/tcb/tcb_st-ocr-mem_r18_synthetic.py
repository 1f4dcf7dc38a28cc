# TCB-st-ocr-mem on the synthetic set: the st-ocr CPU default's weights tested with the
# object-region memory (mean over the last 8 streamed frames' region vectors):
# python tools/test.py configs/tcb/tcb_st-ocr-mem_r18_synthetic.py \
#     work_dirs/tcb_st-ocr_r18_synthetic/iter_1500.pth
_base_ = './tcb_st-ocr_r18_synthetic.py'

model = dict(memory=dict(type='ObjectRegionMemory', mode='window', size=8))

# TCB-st-ocr-mem as the released test code runs it (spec tcb.md sections 0, 2.4): offline, the
# whole video as one test clip; references t+3, t+6, t+9 (t-3, t-6, t-9 near the end); memory
# arithmetic 1/2 (first clip 0, 3, 6, 9) + 1/2 (current clip). For reproducing the released
# numbers; every frame's backbone still runs once. Test with the st-ocr checkpoint.
_base_ = './tcb_st-ocr_r101-d8_4xb2-42k_vspw.py'

clip_length = 1000  # longer than any VSPW video: one clip per video
model = dict(inference='release', memory=dict(type='ObjectRegionMemory', mode='first_clip'))
test_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, clip_overlap=0, test_mode=True),
    *_base_.test_pipeline[1:]
]
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=clip_length, clip_overlap=0),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

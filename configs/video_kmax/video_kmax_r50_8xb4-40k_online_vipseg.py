# Video-kMaX R-50 online on VIPSeg (P Tab. 2a: SQ 46.3, AQ 32.4, STQ 38.7, VPQ 36.8 on val):
# trained on single frames (P Sec. 3.3), every frame its own clip, no stitching, HiLA-MB with
# location only (P Tab. 5b: the best online cue with R-50).
_base_ = './video_kmax_r50_8xb4-40k_near-online_vipseg.py'

clip_length = 1
model = dict(use_stitching=False, tracker=dict(use_appearance=False))
train_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, frame_stride=1),
    _base_.train_pipeline[1],
    _base_.train_pipeline[2],
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, clip_overlap=0, test_mode=True),
    _base_.test_pipeline[1],
    _base_.test_pipeline[2],
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=clip_length, clip_overlap=0),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

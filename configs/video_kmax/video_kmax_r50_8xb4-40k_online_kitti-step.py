# Video-kMaX R-50 online on KITTI-STEP (P Tab. 1a: SQ 75.0, AQ 72.0, STQ 73.5 on val): trained on
# single frames (P Sec. 3.3, Tab. 5b "image-based trained models"), every frame its own clip, no
# stitching; HiLA-MB with location only (P Tab. 5b: with R-50 appearance hurts online, AQ 66.4
# vs 72.0).
_base_ = './video_kmax_r50_8xb4-40k_near-online_kitti-step.py'

clip_length = 1
model = dict(use_stitching=False, tracker=dict(use_appearance=False))
train_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, frame_stride=1),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=_base_.train_pipeline[1].transforms),
    dict(type='PackVideoPanopticInputs')
]
test_pipeline = [
    dict(type='VideoClipSample', clip_length=clip_length, clip_overlap=0, test_mode=True),
    _base_.test_pipeline[1],
    _base_.test_pipeline[2],
]
# 4 single frames per GPU, 32 in all
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=clip_length, clip_overlap=0),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

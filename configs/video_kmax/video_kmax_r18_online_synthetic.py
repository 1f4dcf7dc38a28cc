# Online Video-kMaX on the synthetic set (spec video_kmax.md section 8): the CPU default's weights
# (trained on clips of 2 frames) run on clips of one frame, without stitching; the HiLA memory
# buffer alone associates the frames. Test with the near-online config's checkpoint:
# python tools/test.py configs/video_kmax/video_kmax_r18_online_synthetic.py \
#     work_dirs/video_kmax_r18_near-online_synthetic/iter_<N>.pth
_base_ = './video_kmax_r18_near-online_synthetic.py'

model = dict(use_stitching=False)
test_pipeline = [
    dict(type='VideoClipSample', clip_length=1, clip_overlap=0, test_mode=True),
    _base_.test_pipeline[1],
    _base_.test_pipeline[2],
]
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=1, clip_overlap=0),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# VPSNet-Base on the synthetic set: the image panoptic model with the Base neck (mmdet BFP),
# key frames only, thing ids per frame (the "Base" row of Table 4 in miniature).
_base_ = './vpsnet-fusetrack_r18_synthetic.py'

model = dict(
    extra_neck=dict(_delete_=True, type='BFP', in_channels=_base_.channels, num_levels=5,
                    refine_level=0, refine_type='conv'),
    track_head=None,
    tracker=dict(_delete_=True, type='PerFrameIdTracker'))

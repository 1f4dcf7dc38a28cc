# VPSNet-Base on VIPER-VPS (Table 4 "Base": VPQ 34.9, k=0 52.1): the image model (Base neck,
# no track head), thing ids per frame.
_base_ = './vpsnet-fusetrack_r50_fpn_8xb1-12e_viper.py'

model = dict(
    extra_neck=dict(_delete_=True, type='BFP', in_channels=256, num_levels=5, refine_level=0,
                    refine_type='conv'),
    track_head=None,
    tracker=dict(_delete_=True, type='PerFrameIdTracker'))

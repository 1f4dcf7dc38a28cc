# VPSNet-Track on VIPER-VPS (Table 4 "Track": VPQ 45.8, k=0 53.0): no extra neck (released
# Track model), track head + VPSNet's tracker.
_base_ = './vpsnet-fusetrack_r50_fpn_8xb1-12e_viper.py'

model = dict(extra_neck=None)

# VPSNet-Fuse on VIPER-VPS (Table 4 "Fuse": VPQ 35.6, k=0 53.0): FuseTrack without the track
# head, thing ids per frame.
_base_ = './vpsnet-fusetrack_r50_fpn_8xb1-12e_viper.py'

model = dict(track_head=None, tracker=dict(_delete_=True, type='PerFrameIdTracker'))

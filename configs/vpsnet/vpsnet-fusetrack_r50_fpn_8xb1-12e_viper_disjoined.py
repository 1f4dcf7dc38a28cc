# "Disjoined" on VIPER-VPS (Table 4: VPQ 50.7): FuseTrack whose track head reads the unfused key
# features.
_base_ = './vpsnet-fusetrack_r50_fpn_8xb1-12e_viper.py'

model = dict(track_feats='unfused')

# "Disjoined" ablation (Table 4): FuseTrack whose track head reads the unfused key features.
_base_ = './vpsnet-fusetrack_r18_synthetic.py'

model = dict(track_feats='unfused')

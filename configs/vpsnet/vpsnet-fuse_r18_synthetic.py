# VPSNet-Fuse on the synthetic set: FuseTrack without the track head; thing ids per frame
# (no association), the "Fuse" row of the paper's Table 4 in miniature.
_base_ = './vpsnet-fusetrack_r18_synthetic.py'

model = dict(track_head=None, tracker=dict(_delete_=True, type='PerFrameIdTracker'))

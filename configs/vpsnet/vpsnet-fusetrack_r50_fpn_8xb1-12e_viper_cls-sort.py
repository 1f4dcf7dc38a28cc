# Cls-Sort baseline on VIPER-VPS (Table 4: VPQ 36.5): FuseTrack weights, ids by class-probability
# rank per class and frame. Test with the FuseTrack checkpoint.
_base_ = './vpsnet-fusetrack_r50_fpn_8xb1-12e_viper.py'

model = dict(tracker=dict(_delete_=True, type='ClassSortTracker', num_ranks=100))

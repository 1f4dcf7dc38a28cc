# Cls-Sort baseline (Table 4): the FuseTrack CPU default's weights, ids by class-probability rank
# per class and frame. Test with the FuseTrack checkpoint:
#   python tools/test.py configs/vpsnet/vpsnet-fusetrack_r18_synthetic_cls-sort.py \
#       work_dirs/vpsnet-fusetrack_r18_synthetic/iter_3000.pth
_base_ = './vpsnet-fusetrack_r18_synthetic.py'

model = dict(tracker=dict(_delete_=True, type='ClassSortTracker', num_ranks=100))

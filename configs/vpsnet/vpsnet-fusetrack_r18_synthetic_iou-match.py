# IoU-Match baseline (Table 4): the FuseTrack CPU default's weights, ids by Hungarian mask-IoU
# matching (>= 0.5, same class) with the previous frame's thing-id map. Without a flow estimator
# the previous map is not warped (use_flow=False); the synthetic objects move at most 3 px per
# frame. Test with the FuseTrack checkpoint:
#   python tools/test.py configs/vpsnet/vpsnet-fusetrack_r18_synthetic_iou-match.py \
#       work_dirs/vpsnet-fusetrack_r18_synthetic/iter_3000.pth
_base_ = './vpsnet-fusetrack_r18_synthetic.py'

model = dict(tracker=dict(_delete_=True, type='IoUMatchTracker', iou_thr=0.5, use_flow=False))

# IoU-Match baseline on VIPER-VPS (Table 4: VPQ 44.6): FuseTrack weights, Hungarian mask-IoU
# matching (>= 0.5, same class) with the previous frame's thing-id map. The paper warps that map
# with optical flow: give the model a flow_estimator and use_flow=True once one is available;
# this config matches unwarped masks. Test with the FuseTrack checkpoint.
_base_ = './vpsnet-fusetrack_r50_fpn_8xb1-12e_viper.py'

model = dict(tracker=dict(_delete_=True, type='IoUMatchTracker', iou_thr=0.5, use_flow=False))

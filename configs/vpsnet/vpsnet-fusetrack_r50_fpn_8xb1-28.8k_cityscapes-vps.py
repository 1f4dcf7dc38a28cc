# VPSNet-FuseTrack on Cityscapes-VPS (released configs/cityscapes/fusetrack.py): the Track recipe
# with the extra neck and its fusion of the previous / neighbouring frame, initialised from the
# Cityscapes Fuse model. The track head reads the fused key features.
# Until the align-and-attend neck (branch vpsnet-fuse) is merged, the extra neck is the Base
# neck (mmdet BFP), i.e. this trains Base+Track.
# Paper (Table 4): VPQ 56.1 (k=0 62.7, k=5 56.9, k=10 53.3, k=15 51.4); an independent rerun of
# the released code on the released val split: 55.6 (mcahny/vps issue #20).
_base_ = './vpsnet-track_r50_fpn_8xb1-28.8k_cityscapes-vps.py'

model = dict(
    extra_neck=dict(_delete_=True, type='BFP', in_channels=256, num_levels=5, refine_level=0,
                    refine_type='conv'))
load_from = 'checkpoints/vpsnet/vpsnet-fuse_cityscapes.pth'

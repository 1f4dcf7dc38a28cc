# VPSNet-FuseTrack on Cityscapes-VPS (released configs/cityscapes/fusetrack.py): the Track recipe
# with the align-and-attend extra neck (gather P2-P6, warp the reference by an initial flow plus
# a learned residual flow on a correlation volume, temporal-spatial attention, refine,
# redistribute), initialised from the Cityscapes Fuse model; the track head reads the fused key
# features. Initial flow: PWCLiteFlow, a small flow net trained with the task losses (needs no
# external weights; not comparable to the paper). The paper's FlowNet2: the *_flownet2 config.
# Paper (Table 4): VPQ 56.1 (k=0 62.7, k=5 56.9, k=10 53.3, k=15 51.4); an independent rerun of
# the released code on the released val split: 55.6 (mcahny/vps issue #20).
_base_ = './vpsnet-track_r50_fpn_8xb1-28.8k_cityscapes-vps.py'

model = dict(
    extra_neck=dict(
        _delete_=True,
        type='FlowAlignAttendFusion',
        in_channels=256,
        num_levels=5,
        refine_level=0,
        refine_type='conv',
        fusion=dict(type='TemporalSpatialAttentionFusion'),
        flow_estimator=dict(type='PWCLiteFlow'),
        flow_refiner=dict(type='FlowRefiner', max_displacement=4, hidden_channels=(64, 64, 32))))
# the Cityscapes image Fuse weights (vpsnet-fuse_r50_fpn_8xb1-24e_cityscapes.py), or the released
# ones converted with tools/model_converters/vpsnet_to_mmvps.py
load_from = 'checkpoints/vpsnet/vpsnet-fuse_cityscapes.pth'

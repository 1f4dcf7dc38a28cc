# VPSNet-FuseTrack on Cityscapes-VPS with the paper's initial flow: FlowNet2 in plain PyTorch,
# frozen, loaded from NVIDIA's FlowNet2_checkpoint.pth.tar (user-supplied; it cannot be
# downloaded here), and the released code's feature warp (align_corners=False). This is the
# config of the released checkpoints converted with
#   python tools/model_converters/vpsnet_to_mmvps.py fusetrack.pth vpsnet-fusetrack_cityscapes.pth
#   CONFIG=configs/vpsnet/vpsnet-fusetrack_r50_fpn_flownet2_8xb1-28.8k_cityscapes-vps.py
#   python tools/test.py $CONFIG vpsnet-fusetrack_cityscapes.pth
# (the released checkpoints carry FlowNet2; add it with --flownet2 to one that does not).
_base_ = './vpsnet-fusetrack_r50_fpn_8xb1-28.8k_cityscapes-vps.py'

# mmdet v1's RoIAlign samples without the half-pixel offset (aligned=False); its +1 box width
# convention is not reproduced
model = dict(
    extra_neck=dict(
        flow_estimator=dict(_delete_=True, type='FlowNet2Torch', checkpoint=None),
        align_corners=False),
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=dict(aligned=False)),
        mask_roi_extractor=dict(roi_layer=dict(aligned=False))))

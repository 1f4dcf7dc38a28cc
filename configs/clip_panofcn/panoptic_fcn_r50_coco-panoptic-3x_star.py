# PanopticFCN* R-50, COCO panoptic, 3x (PanopticFCN configs/PanopticFCN-Star-R50-3x.yaml): the
# initialisation of Clip-PanoFCN on VIPSeg (panoptic_fcn_star_r50_3x.pth). Differs from
# PanopticFCN only by a deformable 256-d feature encoder (and hence 256-d kernel projections).
# Reported (PanopticFCN README): PQ 44.3 on val. Its encoder and projections do not fit the
# 64-d Clip-PanoFCN model: they are re-initialised when VIPSeg training loads it (spec 9.7).
_base_ = './panoptic_fcn_r50_coco-panoptic-3x.py'

model = dict(
    panoptic_head=dict(
        feature_encoder=dict(channels=256, deform=True),
        embed_channels=256))

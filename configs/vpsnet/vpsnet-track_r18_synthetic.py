# VPSNet-Track on the synthetic set: the released Track model has no extra neck (spec §0); the
# track head reads the FPN features of the key frame and VPSNet's tracker associates.
_base_ = './vpsnet-fusetrack_r18_synthetic.py'

model = dict(extra_neck=None)

# VPSNet-Fuse on Cityscapes-VPS (no track head; ids per frame). The released chain trains Fuse
# on the Cityscapes *image* train split with raw neighbours from leftImg8bit_sequence
# (configs/cityscapes/fuse.py, 24 x 8 epochs, init VIPER Fuse): that stage is
# vpsnet-fuse_r50_fpn_8xb1-24e_cityscapes.py. This config is an extra, the same model on the
# Cityscapes-VPS videos (key + reference annotated frames), initialised from VIPER Fuse.
_base_ = './vpsnet-fusetrack_r50_fpn_8xb1-28.8k_cityscapes-vps.py'

model = dict(track_head=None, tracker=dict(_delete_=True, type='PerFrameIdTracker'))
load_from = 'checkpoints/vpsnet/vpsnet-fuse_viper.pth'

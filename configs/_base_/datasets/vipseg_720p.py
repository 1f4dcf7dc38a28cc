# VIPSeg_720P in its COCO-panoptic layout (images/ + panomasksRGB/ +
# panoptic_gt_VIPSeg_<split>.json), as DVIS / Clip-PanoFCN read it.
_base_ = './vipseg.py'

data_root = 'data/VIPSeg/VIPSeg_720P/'

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='panoptic_gt_VIPSeg_train.json',
        data_prefix=dict(img='images/', seg='panomasksRGB/')))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='panoptic_gt_VIPSeg_val.json',
        data_prefix=dict(img='images/', seg='panomasksRGB/')))
test_dataloader = val_dataloader

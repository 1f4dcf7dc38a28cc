# Video K-Net R-50 on VIPSeg (124 classes: 58 things, 66 stuff), the recipe of the KITTI-STEP
# config (key + reference frame in [-2, 2], linking, fusion, 12 epochs AdamW). The Video K-Net
# paper reports no VIPSeg number; its arXiv version has R-50 at STQ 33.1 / VPQ 26.1 on val (as
# quoted in Video-kMaX, Tab. 2a; see README).
_base_ = [
    '../_base_/models/video_knet_r50.py', '../_base_/datasets/vipseg.py',
    '../_base_/schedules/schedule_adamw_12e.py', '../_base_/default_runtime.py'
]

num_things_classes = 58
num_stuff_classes = 66
model = dict(
    detector=dict(
        kernel_head=dict(num_thing_classes=num_things_classes, num_stuff_classes=num_stuff_classes),
        kernel_iter_head=dict(
            num_thing_classes=num_things_classes,
            num_stuff_classes=num_stuff_classes,
            mask_head=dict(num_classes=num_things_classes + num_stuff_classes))))

train_dataloader = dict(batch_size=1)
find_unused_parameters = True
# K-Net R-50 pretrained on COCO panoptic: configs/knet/knet_r50_fpn_ms-3x_coco-panoptic.py
load_from = None

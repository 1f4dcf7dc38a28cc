# Video K-Net in its VSS mode (video semantic segmentation; the paper's VSPW experiment, Tab. 4):
# the K-Net of ./video_knet_r50.py with stuff kernels only (one per class, no thing kernels or
# thing classes), the previous frame's kernels fused at the start of the last stage (the paper
# validates kernel fusion on VSPW), no kernel linking, embedding head or tracker, and a per-pixel
# argmax paste (merge_mode='semantic': every pixel gets a class). Method configs set num_classes.
_base_ = './video_knet_r50.py'

num_classes = 124
model = dict(
    detector=dict(
        kernel_head=dict(num_proposals=0, num_thing_classes=0, num_stuff_classes=num_classes),
        kernel_iter_head=dict(
            num_proposals=0,
            num_thing_classes=0,
            num_stuff_classes=num_classes,
            mask_head=dict(num_classes=num_classes)),
        test_cfg=dict(merge_mode='semantic', max_per_img=0)),
    kernel_linking=None,
    track_head=None,
    tracker=None)

# Clip-PanoFCN R-50 on VIPSeg 720P (Miao et al., CVPR 2022; spec clip_panofcn.md sections 3-6): the
# released recipe (VIPSeg-Dataset ClipPanoFCN/, configs/video_vpsw_PanopticFCN-R50-3x.yaml,
# run_train.sh): clips of 3 consecutive frames, 4 GPUs x 2 clips, SGD lr 5e-4, 120k iterations,
# warmup 1000 + poly 0.9, gradient value clip 35, initialised from PanopticFCN* R-50 3x COCO.
# Test: non-overlapping clips of 8 as in the paper's Table 3 (val VPQ 22.9, STQ 31.5); the
# released run_eval.sh uses clips of 3 (clip_panofcn_r50_4xb2-120k_vipseg-720p_test-clip3.py).
_base_ = [
    '../_base_/models/panoptic_fcn_r50.py', '../_base_/datasets/vipseg_720p.py',
    '../_base_/default_runtime.py'
]

train_clip_length = 3  # TRAIN_CLIPNUM (--train_clipnum 3)
test_clip_length = 8  # paper Sec. 5.3.2 / Table 3

model = dict(
    fusion=dict(type='ClipKernelFusion', similarity_threshold=0.9, class_specific=True),
    merger=dict(
        type='ClipMaskMerger',
        mask_threshold=0.4,  # INFERENCE.INST_THRES
        score_threshold=0.05,
        max_things=100,  # POSITION_HEAD.THING.TOP_NUM
        thing_threshold=0.2,  # COMBINE.INST_THRESH
        overlap_threshold=0.5,  # COMBINE.OVERLAP_THRESH
        stuff_area_limit=4096,  # COMBINE.STUFF_AREA_LIMIT, summed over the clip
        stride=4,
        overwrite_things=False),  # True: the released merge (later things overwrite)
    tracker=dict(type='InterClipKernelTracker', memory_weight=0.8, cost_limit=0.3),
    clip_feature_fusion=None)  # USE_CLIPFUSE: False

# detectron2 ResizeShortestEdge: short side from the list, long side <= 4096; 608 x 608 crop;
# one augmentation for all frames of the clip
train_scales = [(4096, s) for s in (608, 748, 806, 864, 922, 980, 1036, 1094, 1152, 1206, 1267,
                                    1324, 1382, 1440)]
crop_size = (608, 608)
train_pipeline = [
    dict(type='VideoClipSample', clip_length=train_clip_length, frame_stride=1),
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
            dict(type='LoadVideoPanopticAnnotations'),
            dict(type='RandomChoiceResize', scales=train_scales, keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, crop_type='absolute',
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='FilterTrackAnnotations'),
        ]),
    dict(type='PackVideoPanopticInputs')
]
# MIN_SIZE_TEST 720, MAX_SIZE_TEST 2048: the 720P frames as they are
test_pipeline = [
    dict(type='VideoClipSample', clip_length=test_clip_length, test_mode=True),
    dict(
        type='TransformBroadcaster',
        transforms=[
            dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
            dict(type='Resize', scale=(2048, 720), keep_ratio=True),
            dict(type='LoadVideoPanopticAnnotations', with_panoptic=True),
        ]),
    dict(type='PackVideoPanopticInputs', meta_keys=('seg_map_path', ))
]
train_dataloader = dict(
    batch_size=2, sampler=dict(type='TrackImgSampler'), dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    sampler=dict(type='VideoBalancedTestSampler', clip_length=test_clip_length),
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 120000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# detectron2 WarmupPolyLR: linear warmup from 0.001 over 1000 iterations times (1 - it/max)^0.9
# from iteration 0 (mmengine multiplies the two schedulers)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1000),
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=False, begin=0, end=max_iters)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=5e-4, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(type='value', clip_value=35.0),
    paramwise_cfg=dict(norm_decay_mult=0.0))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
# PanopticFCN* R-50 3x (COCO panoptic) converted with
# tools/model_converters/panopticfcn_to_mmvps.py; heads whose shapes differ are re-initialised
load_from = None

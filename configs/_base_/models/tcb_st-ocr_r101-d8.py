# TCB-st-ocr (VSPW, Miao et al. CVPR 2021) with a dilated ResNet-101 (output stride 8): the
# released re-implementation's layout (spec tcb.md sections 1.1, 1.3, 2.3). With
# ref_offsets=() and clips of one frame this is OCRNet.
num_classes = 124
norm_cfg = dict(type='SyncBN', requires_grad=True)  # the released code trains SyncBN
model = dict(
    type='TCBSegmentor',
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],  # ImageNet mean / std of RGB (R:dataset2.py:896-898)
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=1),
    backbone=dict(
        type='ContractDilatedResNet',  # first block of layer3 / layer4: dilation 1 / 2
        depth=101,
        deep_stem=True,
        # R's CSAIL stem is 64/64/128 (stem_channels=128); the mmseg/mmcv V1c ImageNet weights
        # loaded here have a 32/32/64 stem (stem_channels=64); see configs/tcb/README.md
        stem_channels=64,
        base_channels=64,
        avg_down=False,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(2, 3),
        style='pytorch',
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')),
    aux_head=dict(
        type='FCNAuxHead', in_channels=1024, channels=512, num_classes=num_classes,
        dropout_ratio=0.05, norm_cfg=norm_cfg),  # OCR's "dsn" head = soft object regions
    decode_head=dict(
        type='STOCRHead', in_channels=2048, channels=512, key_channels=256,
        num_classes=num_classes, dropout_ratio=0.05, norm_cfg=norm_cfg),
    ref_offsets=(3, 6, 9),
    inference='stream',  # memory=dict(type='ObjectRegionMemory', ...) for st-ocr-mem
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, ignore_index=255,
                     avg_non_ignore=True, loss_weight=1.0),
    loss_aux=dict(type='CrossEntropyLoss', use_sigmoid=False, ignore_index=255,
                  avg_non_ignore=True, loss_weight=0.4))

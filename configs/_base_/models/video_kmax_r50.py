# Video-kMaX R-50 near-online (P Sec. 4.2): clip-kMaX R-50 (clip_kmax_r50.py) on clips of 2 frames,
# Video Stitching on the overlapping frame, then the HiLA memory buffer with the paper's defaults
# (lambda 0.8 P Tab. 9, T_loc 1 P Tab. 8, tau 10 P Tab. 6, alpha 0.7 P Tab. 7).
_base_ = './clip_kmax_r50.py'

segmenter = _base_.model
segmenter.pop('data_preprocessor')
model = dict(
    _delete_=True,
    type='VideoKMaX',
    data_preprocessor=dict(
        type='TrackDataPreprocessor', mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True, pad_size_divisor=1),
    segmenter=segmenter,
    use_stitching=True,
    tracker=dict(
        type='HiLAMemoryBuffer',
        momentum=0.8,
        location_temperature=1.0,
        refresh_frames=10,
        match_threshold=0.7,
        use_appearance=True,
        use_location=True,
        class_aware=True))

"""FLOPs and parameters of a video model for one test clip (fvcore convention, one multiply-add
= one FLOP, mmengine's ``FlopAnalyzer``), for any mmvps video model: the clip is made by the
config's test pipeline (``mmvps.apis``) and the whole ``predict`` is traced (network,
post-processing and association of a first clip). Per-model breakdowns are in
``tools/benchmarks/benchmark_video_{knet,kmax}.py``.

Example::

    python tools/analysis_tools/get_flops.py \
        configs/video_kmax/video_kmax_r18_near-online_synthetic.py --shape 360 640
"""
import argparse

import numpy as np
import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape
from mmengine.dataset import default_collate

from mmvps.apis import build_frame_pipeline, clip_settings, init_model

# mmcv's deformable convs trace as PythonOps; their weight is this input of the op
DEFORM_CONV_WEIGHT_INPUT = {
    'prim::PythonOp.ModulatedDeformConv2dFunction': 3,  # input, offset, mask, weight, bias
    'prim::PythonOp.DeformConv2dFunction': 2,  # input, offset, weight
}
MATMUL_LIKE = ('mm', 'bmm', 'baddbmm', 'addmm', 'einsum', 'matmul', 'linear', 'convolution',
               'conv2d', 'conv1d', 'tensordot', 'dot')


class PredictClip(torch.nn.Module):
    """``predict`` of one preprocessed clip, returning the panoptic maps (tensors to trace)."""

    def __init__(self, model, data_samples):
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs):
        sample = self.model.predict(inputs, self.data_samples)[0]
        return torch.stack([frame.pred_panoptic_seg.sem_seg for frame in sample])


def deform_conv_flop_handle(weight_input: int):
    """FLOP handle of an mmcv (modulated) deformable conv: one multiply-add per output element
    and weight tap, as for a conv (the bilinear sampling of the inputs is not counted)."""

    def handle(inputs, outputs) -> int:
        weight = get_shape(inputs[weight_input])
        return int(np.prod(get_shape(outputs[0])) * np.prod(weight[1:]))

    return handle


def add_deform_conv_handles(analyzer: FlopAnalyzer) -> FlopAnalyzer:
    """Count mmcv's deformable convs (PanopticFCN's position head), which fvcore would skip."""
    for op, weight_input in DEFORM_CONV_WEIGHT_INPUT.items():
        analyzer.set_op_handle(op, deform_conv_flop_handle(weight_input))
    return analyzer


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='FLOPs of a video model per clip and frame')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, default=(360, 640), metavar=('H', 'W'),
                        help='size of the input frames (the test pipeline resizes them)')
    return parser.parse_args(args)


def main(args=None):
    args = parse_args(args)
    height, width = args.shape
    model = init_model(args.config)  # FLOPs do not depend on the weights
    clip_length, _ = clip_settings(model.cfg)
    frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    data = build_frame_pipeline(model.cfg)(dict(
        img=[frame] * clip_length, frame_id=list(range(clip_length)),
        video_name=['flops'] * clip_length))
    batch = model.data_preprocessor(default_collate([data]), False)
    analyzer = add_deform_conv_handles(
        FlopAnalyzer(PredictClip(model, batch['data_samples']), (batch['inputs'], )))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        total = analyzer.total()
    unsupported = dict(analyzer.unsupported_ops())
    uncounted = sorted(op for op in unsupported
                       if op.split('::')[-1].strip('_') in MATMUL_LIKE)
    result = dict(
        input_shape=[height, width], network_input_shape=list(batch['inputs'].shape[-2:]),
        clip_frames=clip_length, gflops_per_clip=total / 1e9,
        gflops_per_frame=total / 1e9 / clip_length,
        params_m=sum(p.numel() for p in model.parameters()) / 1e6,
        uncounted_matmul_like_ops=uncounted)
    print(f'{args.config}\n  input {height}x{width} -> network '
          f'{result["network_input_shape"][0]}x{result["network_input_shape"][1]}, clips of '
          f'{clip_length}\n  {result["gflops_per_clip"]:.3f} GFLOPs per clip, '
          f'{result["gflops_per_frame"]:.3f} per frame, {result["params_m"]:.2f} M parameters')
    if uncounted:
        print(f'  not counted (no FLOP handle): {uncounted}')
    return result


if __name__ == '__main__':
    main()

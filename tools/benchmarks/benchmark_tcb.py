"""Cost of TCB (PSPNet / OCRNet / TCB-st-ppm / TCB-st-ocr): network FLOPs per frame and CPU time
per frame of causal stream inference against clip inference.

* FLOPs (fvcore convention: one multiply-add = one FLOP, mmengine's ``FlopAnalyzer``) of one
  frame in **stream** mode (``TCBSegmentor.stream_logits``: the backbone, aux head and head run
  once on the new frame; the references' summaries come from the frame cache) and in **clip**
  mode (``TCBSegmentor.clip_logits`` on the target and its references: every frame through the
  backbone again, as the released test code runs it). The logits' upsampling and argmax are
  not network FLOPs and are left out; uncounted ops are listed (they must be element-wise).
* CPU time per frame of both modes on a streamed random video, eval mode, no gradients,
  data loading and preprocessing excluded. ``torch.get_num_threads()`` is printed.

SyncBN is built as BN and pretrained weights are not loaded (neither changes the cost).

Example (the numbers of configs/tcb/README.md)::

    python tools/benchmarks/benchmark_tcb.py configs/tcb/tcb_st-ocr_r101-d8_4xb2-42k_vspw.py \
        configs/tcb/pspnet_r101-d8_2xb16-42k_vspw.py --shape 480 853 --frames 3
"""
import argparse
import copy
import time
from collections import Counter

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config

from mmvps.registry import MODELS
from mmvps.utils import register_all_modules


def plain_bn(cfg):
    """The config with every SyncBN as BN and no pretrained init."""
    if isinstance(cfg, dict):
        out = {k: plain_bn(v) for k, v in cfg.items() if k != 'init_cfg'}
        if out.get('type') == 'SyncBN':
            out['type'] = 'BN'
        return out
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(plain_bn(v) for v in cfg)
    return cfg


class StreamStep(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        self.model.reset_video('flops')
        return self.model.stream_logits(image, 0)


class ClipStep(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, clip):
        return self.model.clip_logits(clip)[0]


def gflops(module, inputs):
    analyzer = FlopAnalyzer(module, (inputs, ))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        total = analyzer.total()
    skipped = Counter(analyzer.unsupported_ops())
    return total / 1e9, sorted(skipped)


def measure(config, height, width, frames):
    cfg = Config.fromfile(config)
    model = MODELS.build(plain_bn(copy.deepcopy(cfg.model.to_dict()))).eval()
    offsets = model.ref_offsets
    image = torch.randn(1, 3, height, width)
    clip = image[None].expand(1, 1 + len(offsets), -1, -1, -1).contiguous()
    stream_gflops, skipped = gflops(StreamStep(model), image)
    clip_gflops, _ = gflops(ClipStep(model), clip)

    video = torch.randn(frames, 3, height, width)
    with torch.no_grad():
        model.reset_video('time')
        model.stream_logits(video[:1], 0)  # warm-up
        model.reset_video('time')
        start = time.perf_counter()
        for t in range(frames):
            model.stream_logits(video[t:t + 1], t)
        stream_s = (time.perf_counter() - start) / frames
        start = time.perf_counter()
        for t in range(frames):
            model.clip_logits(video[[t] + [max(t - d, 0) for d in offsets]][None])
        clip_s = (time.perf_counter() - start) / frames
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return dict(config=config, params_M=params, offsets=offsets, stream_gflops=stream_gflops,
                clip_gflops=clip_gflops, stream_s=stream_s, clip_s=clip_s, uncounted=skipped)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--shape', type=int, nargs=2, default=(480, 853), metavar=('H', 'W'))
    parser.add_argument('--frames', type=int, default=3, help='frames timed per mode')
    args = parser.parse_args()
    register_all_modules()
    print(f'{args.shape[0]}x{args.shape[1]} per frame, torch threads '
          f'{torch.get_num_threads()}')
    for config in args.configs:
        r = measure(config, *args.shape, args.frames)
        print(f"{r['config']}: {r['params_M']:.1f} M params, offsets {r['offsets']}; "
              f"stream {r['stream_gflops']:.2f} GFLOPs, {r['stream_s']:.3f} s per frame; "
              f"clip {r['clip_gflops']:.2f} GFLOPs, {r['clip_s']:.3f} s per frame; "
              f"uncounted ops: {', '.join(r['uncounted']) or 'none'}")


if __name__ == '__main__':
    main()

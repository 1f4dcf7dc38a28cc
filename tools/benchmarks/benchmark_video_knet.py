"""Cost of Video K-Net over K-Net, and of its online inference.

1. FLOPs (fvcore convention: one multiply-add = one FLOP, mmengine's ``FlopAnalyzer``) and
   parameters of one frame of K-Net and of Video K-Net (kernel fusion with the previous frame's
   kernels, kernel linking of all thing kernels to the previous frame's, association
   embeddings) at 384x1280, with the R-50 KITTI-STEP config. Panoptic pasting and tracking are
   not network FLOPs and are left out of both.
2. CPU time per frame of online inference (``VideoKNet.predict``, tracker included) with the
   CPU default config at its input size.
3. Peak memory (peak RSS of a fresh process, ``VmHWM``) of online inference on a long and a
   short video: it must not grow with the video length.

Example::

    python tools/benchmarks/benchmark_video_knet.py --out benchmark_video_knet.json
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
FLOPS_CONFIG = REPO_ROOT / 'configs/video_knet/video_knet_r50_8xb1-12e_kitti-step.py'
CPU_CONFIG = REPO_ROOT / 'configs/video_knet/video_knet_r18_synthetic.py'


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='Benchmark Video K-Net against K-Net')
    parser.add_argument('--flops-config', default=str(FLOPS_CONFIG))
    parser.add_argument('--flops-shape', type=int, nargs=2, default=(384, 1280),
                        metavar=('H', 'W'))
    parser.add_argument('--cpu-config', default=str(CPU_CONFIG))
    parser.add_argument('--checkpoint', help='weights of the CPU config (default: random '
                        'weights with every thing kernel kept and tracked, the worst case)')
    parser.add_argument('--frames', type=int, default=50, help='frames timed')
    parser.add_argument('--long-video', type=int, default=200)
    parser.add_argument('--short-video', type=int, default=20)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--out', help='write the figures as JSON')
    parser.add_argument('--memory-run', type=int, help=argparse.SUPPRESS)
    return parser.parse_args(args)


def build_model(config, checkpoint=None):
    from mmengine.runner.checkpoint import load_checkpoint

    from mmvps.registry import MODELS
    from mmvps.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config)
    if checkpoint is None:
        cfg.model.detector.test_cfg.update(instance_score_thr=0.0)
        cfg.model.tracker.update(init_score_thr=0.0, obj_score_thr=0.0)
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        torch.manual_seed(0)
        model.init_weights()
    else:
        load_checkpoint(model, checkpoint, map_location='cpu')
    return model.eval(), cfg


def _baddbmm_flop_jit(inputs, outputs):
    """``baddbmm(input, batch1, batch2)``: the batched product (attention logits of
    ``nn.MultiheadAttention``)."""
    n, c, t = get_shape(inputs[1])
    return n * c * t * get_shape(inputs[2])[-1]


class KNetFrame(torch.nn.Module):
    """One frame of K-Net: features, initial kernels, kernel update stages."""

    def __init__(self, detector):
        super().__init__()
        self.detector = detector

    def forward(self, img):
        kernels, feats, mask_preds = self.detector.kernel_head(self.detector.extract_feat(img))
        return self.detector.kernel_iter_head(feats, kernels, mask_preds)[-1]


class VideoKNetFrame(torch.nn.Module):
    """One frame of Video K-Net after the first: K-Net with kernel fusion, then kernel linking
    of the thing kernels to the previous frame's and the association embeddings."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, img, previous_kernels):
        model = self.model
        kernels, feats, mask_preds = model.detector.kernel_head(model.detector.extract_feat(img))
        cls_scores, mask_preds, kernels = model.detector.kernel_iter_head(
            feats, kernels, mask_preds, previous_kernels=previous_kernels)[-1]
        things = kernels[0, :model.num_proposals]
        embeds = model.link_and_embed(things, previous_kernels[0, :model.num_proposals])
        return cls_scores, mask_preds, embeds


def count_flops(module, inputs):
    analyzer = FlopAnalyzer(module, inputs)
    analyzer.set_op_handle('aten::baddbmm', _baddbmm_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer.total()


def flops_figures(args):
    model, _ = _build_for_flops(args.flops_config)
    height, width = args.flops_shape
    img = torch.randn(1, 3, height, width)
    num_kernels = model.num_proposals + model.detector.num_stuff_classes
    channels = model.track_head.in_channels
    previous = torch.randn(1, num_kernels, channels)
    with torch.no_grad():
        knet_flops = count_flops(KNetFrame(model.detector), (img, ))
        video_flops = count_flops(VideoKNetFrame(model), (img, previous))
    detector_params = sum(p.numel() for p in model.detector.parameters())
    fusion = model.detector.kernel_iter_head.kernel_fusion
    fusion_params = sum(p.numel() for p in fusion.parameters()) if fusion is not None else 0
    knet_params = detector_params - fusion_params
    video_params = sum(p.numel() for p in model.parameters())
    return dict(
        input_shape=[height, width],
        knet_gflops=knet_flops / 1e9,
        video_knet_gflops=video_flops / 1e9,
        flops_overhead_percent=100 * (video_flops / knet_flops - 1),
        knet_params_m=knet_params / 1e6,
        video_knet_params_m=video_params / 1e6,
        params_overhead_percent=100 * (video_params / knet_params - 1))


def _build_for_flops(config):
    from mmvps.registry import MODELS
    from mmvps.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)  # FLOPs do not depend on the weights: no download
    return model.eval(), cfg


def synthetic_frames(num_frames, height, width):
    """Frames of two squares crossing over two stuff regions (uint8 CHW)."""
    for t in range(num_frames):
        img = np.zeros((height, width, 3), np.uint8)
        img[:height // 2] = (200, 120, 60)
        img[height // 2:] = (40, 160, 40)
        size = height // 4
        for x, colour in (((5 * t) % (width - size), (0, 0, 255)),
                          (width - size - (5 * t) % (width - size), (255, 255, 0))):
            img[height // 3:height // 3 + size, x:x + size] = colour
        yield torch.from_numpy(img).permute(2, 0, 1)


def run_online(model, num_frames, height, width):
    """Stream ``num_frames`` frames through ``VideoKNet.predict``; returns per-frame wall times."""
    from mmdet.structures import DetDataSample, TrackDataSample
    times = []
    with torch.no_grad():
        for frame_id, img in enumerate(synthetic_frames(num_frames, height, width)):
            sample = DetDataSample(metainfo=dict(
                img_shape=(height, width), ori_shape=(height, width), frame_id=frame_id,
                video_name='benchmark', scale_factor=(1.0, 1.0)))
            track_sample = TrackDataSample()
            track_sample.video_data_samples = [sample]
            start = time.perf_counter()
            data = model.data_preprocessor(
                dict(inputs=[img[None]], data_samples=[track_sample]), False)
            model(**data, mode='predict')
            times.append(time.perf_counter() - start)
    return times


def input_size(cfg):
    """(h, w) of the CPU config's test frames (its ``Resize`` scale is (w, h))."""
    width, height = cfg.img_scale
    return height, width


def cpu_figures(args):
    model, cfg = build_model(args.cpu_config, args.checkpoint)
    height, width = input_size(cfg)
    run_online(model, 3, height, width)  # warm-up
    cpu_start = time.process_time()
    times = run_online(model, args.frames, height, width)
    cpu_time = time.process_time() - cpu_start
    return dict(
        input_shape=[height, width],
        threads=torch.get_num_threads(),
        frames=args.frames,
        wall_ms_per_frame_median=1000 * float(np.median(times)),
        wall_ms_per_frame_mean=1000 * float(np.mean(times)),
        cpu_ms_per_frame=1000 * cpu_time / args.frames,
        tracker_memory_size=model.tracker.memory_size)


def peak_rss_mb():
    """Peak resident memory of this process in MiB: ``VmHWM`` of ``/proc/self/status``, which
    starts afresh at ``exec``. ``ru_maxrss`` does not: a child keeps its parent's peak at the
    fork when that is higher, so it would report the parent's memory (e.g. the R-50 models of
    the FLOP count). Falls back to ``ru_maxrss`` where there is no ``/proc``."""
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_run(args):
    """Child process: online inference on ``--memory-run`` frames, then report max RSS."""
    model, cfg = build_model(args.cpu_config, args.checkpoint)
    height, width = input_size(cfg)
    run_online(model, args.memory_run, height, width)
    print(json.dumps(dict(
        frames=args.memory_run,
        max_rss_mb=peak_rss_mb(),
        tracker_memory_size=model.tracker.memory_size,
        tracks_in_memory=len(model.tracker.tracks),
        tracks_started=int(model.tracker.num_tracks))))


def memory_figures(args, script=__file__, env=None):
    """Peak RSS of ``script --memory-run N`` in fresh processes for the short and the long
    video, and the growth between them."""
    figures = {}
    for frames in (args.short_video, args.long_video):
        cmd = [sys.executable, script, '--memory-run', str(frames), '--cpu-config',
               args.cpu_config, '--threads', str(args.threads)]
        if args.checkpoint:
            cmd += ['--checkpoint', args.checkpoint]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
        figures[f'{frames}_frames'] = json.loads(out.strip().splitlines()[-1])
    short, long = (figures[f'{n}_frames'] for n in (args.short_video, args.long_video))
    figures['rss_growth_mb'] = long['max_rss_mb'] - short['max_rss_mb']
    return figures


def main(args=None):
    args = parse_args(args)
    torch.set_num_threads(args.threads)
    if args.memory_run:
        memory_run(args)
        return
    results = dict(flops=flops_figures(args), cpu=cpu_figures(args), memory=memory_figures(args))
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()

"""Cost of Video-kMaX: network FLOPs, CPU time and memory of near-online inference.

1. FLOPs (fvcore convention: one multiply-add = one FLOP, mmengine's ``FlopAnalyzer``) and
   parameters of the R-50 clip-kMaX network (``segmenter.forward_clips`` in eval mode: backbone,
   kMaX pixel decoder, k-means transformer decoder; the training-only semantic head is not run)
   on a near-online clip of 2 frames at 384x1248 (KITTI-STEP), per clip and per frame, and of
   the online model on one frame. The axial and k-means attention are ``einsum`` (counted by
   mmengine's default handle, as are ``bmm`` / ``matmul``); the ops left uncounted are
   reported, and must all be element-wise. Panoptic merging, stitching and the memory are not
   network FLOPs and are left out.
2. CPU time per frame of near-online inference (``VideoKMaX.predict`` through its data
   preprocessor, post-processing, Video Stitching and the HiLA memory buffer included) on clips
   of 2 frames overlapping by 1, fed as the test loop feeds them, with the CPU default config at
   its input size.
3. Peak memory (peak RSS of a fresh process, ``VmHWM``) of near-online inference on a long
   and a short video: it must not grow with the video length.

Example::

    python tools/benchmarks/benchmark_video_kmax.py --out benchmark_video_kmax.json
"""
import argparse
import importlib.util
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
NEAR_ONLINE_CONFIG = (REPO_ROOT / 'configs/video_kmax/'
                      'video_kmax_r50_8xb4-40k_near-online_kitti-step.py')
ONLINE_CONFIG = REPO_ROOT / 'configs/video_kmax/video_kmax_r50_8xb4-40k_online_kitti-step.py'
CPU_CONFIG = REPO_ROOT / 'configs/video_kmax/video_kmax_r18_near-online_synthetic.py'
CLIP_LENGTH = 2  # near-online: clips of 2 frames overlapping by 1 (P Sec. 4.2)
RANDOM_MASK_SCALE = 10.0  # final mask BN scale of random weights (see build_model)


def _import_sibling(name):
    """Import another benchmark script of this folder (``tools/benchmarks`` is no package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_video_knet = _import_sibling('benchmark_video_knet')
synthetic_frames = _video_knet.synthetic_frames
input_size = _video_knet.input_size
peak_rss_mb = _video_knet.peak_rss_mb


def is_matmul_like(op):
    """Whether an ``aten::`` op is a matrix product or convolution (must not go uncounted)."""
    name = op.split('::')[-1].strip('_')
    return 'mm' in name or name in ('einsum', 'matmul', 'linear', 'tensordot', 'dot',
                                    'convolution', 'conv1d', 'conv2d')


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='Benchmark Video-kMaX')
    parser.add_argument('--flops-config', default=str(NEAR_ONLINE_CONFIG),
                        help='near-online config whose network is counted')
    parser.add_argument('--online-flops-config', default=str(ONLINE_CONFIG))
    parser.add_argument('--flops-shape', type=int, nargs=2, default=(384, 1248),
                        metavar=('H', 'W'))
    parser.add_argument('--cpu-config', default=str(CPU_CONFIG))
    parser.add_argument('--checkpoint', help='weights of the CPU config (default: seeded random '
                        'weights made to predict segments, see build_model)')
    parser.add_argument('--frames', type=int, default=50, help='frames timed')
    parser.add_argument('--long-video', type=int, default=200)
    parser.add_argument('--short-video', type=int, default=20)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--skip-flops', action='store_true', help='CPU time and memory only')
    parser.add_argument('--out', help='write the figures as JSON')
    parser.add_argument('--memory-run', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(args)
    for name in ('frames', 'long_video', 'short_video'):
        if getattr(args, name) < CLIP_LENGTH:
            parser.error(f'--{name.replace("_", "-")} must be at least {CLIP_LENGTH} frames '
                         f'(one near-online clip), got {getattr(args, name)}')
    return args


# ------------------------------------------------------------------------------------ FLOPs
class ClipNetwork(torch.nn.Module):
    """The clip-kMaX network on ``[1, T, 3, H, W]`` clips: final class logits, mask logits and
    cluster centres (``FlopAnalyzer`` traces tensors, not the decoder's output dict)."""

    def __init__(self, segmenter):
        super().__init__()
        self.segmenter = segmenter

    def forward(self, clip):
        outputs, _ = self.segmenter.forward_clips(clip)
        return outputs['class_logits'], outputs['mask_logits'], outputs['queries']


def _build(config):
    from mmvps.registry import MODELS
    from mmvps.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config)
    return MODELS.build(cfg.model).eval(), cfg  # FLOPs do not depend on the weights


def analyze_flops(module, inputs):
    """Total FLOPs, FLOPs of the top-level children and the ops without a FLOP handle."""
    analyzer = FlopAnalyzer(module, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        total = analyzer.total()
    by_module = analyzer.by_module()
    parts = {name.split('.')[-1]: by_module[name] / 1e9 for name in by_module
             if name.count('.') == 1 and by_module[name] > 0}
    unsupported = dict(analyzer.unsupported_ops())
    return total, parts, unsupported


def clip_flops(config, num_frames, height, width):
    model, _ = _build(config)
    segmenter = model.segmenter
    if (height, width) != tuple(segmenter.input_size):
        raise ValueError(f'{config}: --flops-shape {height}x{width} differs from the model\'s '
                         f'fixed input_size {segmenter.input_size}')
    total, parts, unsupported = analyze_flops(
        ClipNetwork(segmenter), (torch.randn(1, num_frames, 3, height, width), ))
    params = sum(p.numel() for p in segmenter.parameters())
    semantic = segmenter.semantic_head
    head_params = sum(p.numel() for p in semantic.parameters()) if semantic is not None else 0
    return dict(
        clip_frames=num_frames,
        gflops_per_clip=total / 1e9,
        gflops_per_frame=total / 1e9 / num_frames,
        gflops_by_part_per_clip=parts,
        params_m=(params - head_params) / 1e6,
        params_with_semantic_head_m=params / 1e6,
        unsupported_ops=unsupported,
        uncounted_matmul_like_ops=sorted(op for op in unsupported if is_matmul_like(op)))


def flops_figures(args):
    height, width = args.flops_shape
    return dict(
        input_shape=[height, width],
        near_online=clip_flops(args.flops_config, CLIP_LENGTH, height, width),
        online=clip_flops(args.online_flops_config, 1, height, width))


# ------------------------------------------------------------------------- CPU inference
def build_model(config, checkpoint=None):
    """The CPU model in eval mode: ``checkpoint``'s weights, or seeded random weights made to
    segment: at initialisation every query's class is void (bias) and its mask flat (mask BN
    scale 0.1), so nothing would be painted and nothing tracked; the final mask scale is raised
    to 10 and the class thresholds set to 0, so every query that wins pixels is a segment."""
    from mmengine.logging import MMLogger
    from mmengine.runner.checkpoint import load_checkpoint

    from mmvps.registry import MODELS
    from mmvps.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config)
    if checkpoint is None:
        cfg.model.segmenter.post_processor.update(
            thing_threshold=0.0, stuff_threshold=0.0, thing_area_limit=0, stuff_area_limit=0)
    torch.manual_seed(0)  # building initialises parameters too
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel('WARNING')  # init_weights logs every parameter
        model.init_weights()
        logger.setLevel(level)
        torch.nn.init.constant_(model.segmenter.transformer_decoder.predictor.mask_norm.weight,
                                RANDOM_MASK_SCALE)
    else:
        load_checkpoint(model, checkpoint, map_location='cpu')
    return model.eval(), cfg


def near_online_clips(num_frames, height, width, video_name='benchmark'):
    """The test loop's near-online clips of a video: ``(frames [2, 3, H, W] uint8,
    TrackDataSample)`` for frames (0, 1), (1, 2), ...; ``key_frames_inds`` [0, 1] for the first
    clip, [1] after (the overlapping frame was predicted by the previous clip)."""
    from mmdet.structures import DetDataSample, TrackDataSample
    frames = synthetic_frames(num_frames, height, width)
    previous = next(frames)
    for start, current in enumerate(frames):  # only the two frames of a clip are held
        samples = [
            DetDataSample(metainfo=dict(
                img_shape=(height, width), ori_shape=(height, width), frame_id=frame_id,
                video_name=video_name, scale_factor=(1.0, 1.0)))
            for frame_id in (start, start + 1)
        ]
        track_sample = TrackDataSample(metainfo=dict(
            key_frames_inds=[0, 1] if start == 0 else [1]))
        track_sample.video_data_samples = samples
        yield torch.stack([previous, current]), track_sample
        previous = current


def run_near_online(model, num_frames, height, width):
    """Stream a ``num_frames`` video through ``VideoKMaX.predict`` clip by clip.

    Returns:
        tuple: wall seconds per new frame of each clip, and per frame id the number of
        predictions it got as a key frame (each frame must get exactly one) with the number of
        thing segments with a track id in it.
    """
    times, predictions, things = [], Counter(), []
    with torch.no_grad():
        for frames, track_sample in near_online_clips(num_frames, height, width):
            start = time.perf_counter()
            data = model.data_preprocessor(
                dict(inputs=[frames], data_samples=[track_sample]), False)
            (result, ) = model(**data, mode='predict')
            key_inds = track_sample.metainfo['key_frames_inds']
            times.append((time.perf_counter() - start) / len(key_inds))
            for i in key_inds:
                frame = result[i]
                if tuple(frame.pred_panoptic_seg.sem_seg.shape) == (1, height, width):
                    predictions[frame.metainfo['frame_id']] += 1
                    things.append(len(frame.pred_track_instances))
    return times, predictions, things


def _check_predictions(predictions, num_frames):
    """Whether every frame of the video got exactly one prediction."""
    return sorted(predictions) == list(range(num_frames)) and \
        all(count == 1 for count in predictions.values())


def cpu_figures(args):
    model, cfg = build_model(args.cpu_config, args.checkpoint)
    height, width = input_size(cfg)
    run_near_online(model, 3, height, width)  # warm-up
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    times, predictions, things = run_near_online(model, args.frames, height, width)
    wall_time = time.perf_counter() - wall_start
    cpu_time = time.process_time() - cpu_start
    return dict(
        input_shape=[height, width],
        threads=torch.get_num_threads(),
        frames=args.frames,
        clips=args.frames - 1,
        wall_ms_per_frame_median=1000 * float(np.median(times)),
        wall_ms_per_frame_mean=1000 * wall_time / args.frames,
        cpu_ms_per_frame=1000 * cpu_time / args.frames,
        every_frame_predicted_once=_check_predictions(predictions, args.frames),
        tracked_things_per_frame_mean=float(np.mean(things)),
        tracks_started=model.tracker.next_id - 1)


def memory_run(args):
    """Child process: near-online inference on ``--memory-run`` frames, then report max RSS
    and the state kept between clips."""
    model, cfg = build_model(args.cpu_config, args.checkpoint)
    height, width = input_size(cfg)
    _, predictions, _ = run_near_online(model, args.memory_run, height, width)
    print(json.dumps(dict(
        frames=args.memory_run,
        max_rss_mb=peak_rss_mb(),
        every_frame_predicted_once=_check_predictions(predictions, args.memory_run),
        frames_kept_between_clips=len(model._previous_outputs),
        tracker_entries=model.tracker.num_entries,
        tracks_started=model.tracker.next_id - 1)))


def _child_env():
    """The environment of a child process, importing the parent's ``mmvps`` first."""
    import mmvps
    paths = [str(Path(mmvps.__file__).resolve().parents[1])]
    if os.environ.get('PYTHONPATH'):
        paths.append(os.environ['PYTHONPATH'])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def memory_figures(args):
    return _video_knet.memory_figures(args, script=__file__, env=_child_env())


def main(args=None):
    args = parse_args(args)
    torch.set_num_threads(args.threads)
    if args.memory_run:
        memory_run(args)
        return
    results = {} if args.skip_flops else dict(flops=flops_figures(args))
    results.update(cpu=cpu_figures(args), memory=memory_figures(args))
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return results


if __name__ == '__main__':
    main()

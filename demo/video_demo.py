"""Video panoptic segmentation of your own video: an overlay video and/or per-frame id maps.

Works with every mmvps video model (online and clip-level alike, see ``mmvps.apis``); the
arguments follow mmdet's ``demo/mot_demo.py``.

Examples::

    python demo/video_demo.py my.mp4 configs/video_kmax/video_kmax_r18_near-online_synthetic.py \
        --checkpoint iter_1500.pth --out result.mp4 --out-ids ids/
    python demo/video_demo.py 'frames/*.jpg' CONFIG --checkpoint CKPT --out-frames drawn/ \
        --no-overlay --out-ids ids/ --out-format step

``--out-format png16`` writes ``label + track_id * 1000`` (void = number of classes) as 16-bit
grey PNGs; ``step`` / ``vipseg`` write the official formats with the dataset's category ids
(``label2cat``), as the exporters do.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import tempfile

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from mmvps.apis import IMAGE_EXTENSIONS, count_frames, inference_video, init_model
from mmvps.datasets.formats import write_step, write_vipseg_raw
from mmvps.structures import INSTANCE_OFFSET
from mmvps.visualization import VideoPanopticVisualizer

OUT_FORMATS = ('png16', 'step', 'vipseg')


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='mmvps video panoptic segmentation demo')
    parser.add_argument('inputs', help='a video file, a folder of frames or a glob of frames')
    parser.add_argument('config', help='model config file')
    parser.add_argument('--checkpoint', help='checkpoint file (random weights when left out)')
    parser.add_argument('--out', help='overlay video to write (e.g. result.mp4)')
    parser.add_argument('--out-frames', help='folder for the overlay frames as PNG')
    parser.add_argument('--out-ids', help='folder for the raw id maps, one PNG per frame')
    parser.add_argument('--out-format', choices=OUT_FORMATS, default='png16',
                        help='format of the id maps (default: 16-bit label + track_id * 1000)')
    parser.add_argument('--no-overlay', action='store_true',
                        help='draw no overlay (only the id maps are written)')
    parser.add_argument('--classes', nargs='+',
                        help='keep only these class names; other segments become void')
    parser.add_argument('--score-thr', type=float, default=0.0,
                        help='thing segments scored below it become void')
    parser.add_argument('--fps', type=float, help='fps of the output video (default: the '
                        'input video\'s, else 10)')
    parser.add_argument('--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument('--cfg-options', nargs='+', default=None, help='key=value config '
                        'overrides')
    args = parser.parse_args(args)
    if not (args.out or args.out_frames or args.out_ids):
        parser.error('nothing to write: give --out, --out-frames and/or --out-ids')
    if args.no_overlay and (args.out or args.out_frames):
        parser.error('--no-overlay writes no overlay: drop --out / --out-frames or the flag')
    return args


def _cfg_options(pairs):
    if not pairs:
        return None
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='cfg')(None, namespace, pairs)
    return namespace.cfg


def check_writable_dir(path: str, what: str) -> None:
    """Create ``path`` (a folder) or fail with a message naming it."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as error:
        raise OSError(f'{path}: cannot write the {what} there ({error.strerror})') from None


def filter_panoptic(panoptic, segments, num_classes, keep_labels=None, score_thr=0.0):
    """A copy of ``panoptic`` with the segments of other classes than ``keep_labels`` and the
    thing segments scored below ``score_thr`` set to void."""
    drop = [s['id'] for s in segments
            if (keep_labels is not None and s['label'] not in keep_labels)
            or (s['score'] is not None and s['score'] < score_thr)]
    if not drop:
        return panoptic
    out = panoptic.copy()
    out[np.isin(out, drop)] = num_classes
    return out


def write_ids(path, panoptic, out_format, num_classes, label2cat=None):
    """Write one frame's id map in ``out_format``."""
    if out_format == 'png16':
        if panoptic.max(initial=0) >= 1 << 16:
            raise ValueError(f'{path}: id {int(panoptic.max())} does not fit a 16-bit PNG '
                             '(track ids above 65); use --out-format step')
        if not cv2.imwrite(path, panoptic.astype(np.uint16)):
            raise OSError(f'{path}: cannot write the PNG')
        return
    if label2cat is None:
        raise ValueError(f'--out-format {out_format} needs the dataset\'s label2cat in the '
                         'model\'s dataset_meta')
    label, inst = panoptic % INSTANCE_OFFSET, panoptic // INSTANCE_OFFSET
    lut = np.asarray(list(label2cat) + [-1] * (label.max(initial=0) + 1 - len(label2cat)))
    cat = np.where(label < num_classes, lut[np.minimum(label, len(lut) - 1)], -1)
    inst = np.where(cat < 0, 0, inst)
    (write_step if out_format == 'step' else write_vipseg_raw)(path, cat, inst)


def open_video_writer(path, fps, size):
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    if not writer.isOpened():
        raise OSError(f'{path}: OpenCV cannot open an mp4v video writer there')
    return writer


def input_fps(inputs):
    if osp.isfile(inputs) and not inputs.lower().endswith(IMAGE_EXTENSIONS):
        capture = cv2.VideoCapture(inputs)
        fps = capture.get(cv2.CAP_PROP_FPS)
        capture.release()
        if fps and fps > 0:
            return fps
    return 10.0


def main(args=None):
    args = parse_args(args)
    if not osp.exists(args.inputs) and not any(c in args.inputs for c in '*?['):
        raise FileNotFoundError(f'{args.inputs}: no such video file or folder')
    # Outputs are checked before the model runs: no wasted run on an unwritable path.
    if args.out:
        check_writable_dir(osp.dirname(osp.abspath(args.out)), 'output video')
    for path, what in ((args.out_frames, 'overlay frames'), (args.out_ids, 'id maps')):
        if path:
            check_writable_dir(path, what)

    model = init_model(args.config, args.checkpoint, device=args.device,
                       cfg_options=_cfg_options(args.cfg_options))
    meta = model.dataset_meta
    classes = list(meta['classes'])
    num_classes = len(classes)
    keep_labels = None
    if args.classes:
        unknown = [c for c in args.classes if c not in classes]
        if unknown:
            raise ValueError(f'--classes: {unknown} are not classes of the model ({classes})')
        keep_labels = {classes.index(c) for c in args.classes}
    visualizer = None
    if not args.no_overlay:
        visualizer = VideoPanopticVisualizer.get_instance(
            'mmvps_video_demo', with_titles=False, with_legend=False)
        visualizer.dataset_meta = meta

    fps = args.fps or input_fps(args.inputs)
    if fps <= 0:
        raise ValueError(f'--fps must be > 0, got {fps}')
    # The video is written to a temporary file and moved to --out when complete.
    partial = None
    if args.out:
        root, ext = osp.splitext(osp.abspath(args.out))
        partial = f'{osp.dirname(root)}/.{osp.basename(root)}.incomplete{ext or ".mp4"}'
    writer = None
    written = 0
    progress = ProgressBar(count_frames(args.inputs))
    try:
        for result in inference_video(model, args.inputs):
            panoptic = filter_panoptic(result.panoptic, result.segments, num_classes,
                                       keep_labels, args.score_thr)
            name = f'{result.frame_id:06d}.png'
            if args.out_ids:
                write_ids(osp.join(args.out_ids, name), panoptic, args.out_format, num_classes,
                          meta.get('label2cat'))
            if visualizer is not None:
                rgb = np.ascontiguousarray(result.image[..., ::-1])
                drawn = visualizer.draw_panoptic(rgb, panoptic)[..., ::-1]
                drawn = np.ascontiguousarray(drawn, dtype=np.uint8)
                if args.out_frames and not cv2.imwrite(osp.join(args.out_frames, name), drawn):
                    raise OSError(f'{osp.join(args.out_frames, name)}: cannot write the frame')
                if partial is not None:
                    height, width = drawn.shape[:2]
                    size = (width + width % 2, height + height % 2)
                    if writer is None:
                        writer = open_video_writer(partial, fps, size)
                    writer.write(np.pad(drawn, ((0, size[1] - height), (0, size[0] - width),
                                                (0, 0))))
            written += 1
            progress.update()
    except BaseException:
        if writer is not None:
            writer.release()
            os.remove(partial)
        done = [p for p in (args.out_frames, args.out_ids) if p]
        print(f'\nstopped after {written} frames: the overlay video was not written'
              + (f'; {" and ".join(done)} hold only the first {written} frames' if done else ''),
              file=sys.stderr)
        raise
    print()  # end the progress bar's line
    if writer is not None:
        writer.release()
        shutil.move(partial, args.out)
        print(f'wrote {written} frames to {args.out}')
    for path, what in ((args.out_frames, 'overlay frames'), (args.out_ids, 'id maps')):
        if path:
            print(f'wrote {written} {what} to {path}')
    return written


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError, OSError) as error:
        sys.exit(f'error: {error}')

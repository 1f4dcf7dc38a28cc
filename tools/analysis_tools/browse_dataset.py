"""Browse a video panoptic dataset: every frame of its videos with the ground truth overlaid,
one stable colour per track (no model).

The dataset of ``<split>_dataloader`` is built from the config; its pipeline is cut to the
loading transforms up to ``LoadVideoPanopticAnnotations`` (frame samplers, augmentations and
packing are dropped; ``TransformBroadcaster`` wrappers are opened), which then runs frame by
frame with ``with_panoptic=True`` so the ground truth is drawn at the original size.

Example::

    python tools/analysis_tools/browse_dataset.py configs/xxx.py --output-dir vis --not-show \\
        --split val --max-videos 2

writes ``vis/<video_name>/<frame_name>.jpg``.
"""
import argparse
import os.path as osp
import sys

import torch
from mmcv.transforms import Compose
from mmdet.structures import DetDataSample
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from tqdm import tqdm

from mmvps.registry import DATASETS, VISUALIZERS
from mmvps.visualization import frame_out_file

ANNOTATION_LOADER = 'LoadVideoPanopticAnnotations'
WRAPPER_KEYS = ('transforms', )  # TransformBroadcaster / Compose-like wrappers


def parse_args():
    parser = argparse.ArgumentParser(description='Browse a video panoptic dataset')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', help='write <dir>/<video_name>/<frame_name>.jpg')
    parser.add_argument('--not-show', action='store_true', help='do not show the frames')
    parser.add_argument('--show-interval', type=float, default=2, help='seconds per shown frame')
    parser.add_argument('--split', choices=('train', 'val'), default='train',
                        help='dataset of <split>_dataloader')
    parser.add_argument('--max-videos', type=int, help='browse only the first N videos')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, xxx=yyy format (see mmengine DictAction)')
    return parser.parse_args()


def _type_name(transform: dict) -> str:
    return str(transform.get('type', '')).split('.')[-1]


def _flatten(pipeline):
    for transform in pipeline:
        nested = [transform[k] for k in WRAPPER_KEYS if k in transform]
        if nested:
            yield from _flatten(nested[0])
        else:
            yield transform


def loading_pipeline(pipeline, where: str) -> list:
    """The ``Load*`` transforms of ``pipeline`` up to the annotation loader (inclusive), with
    ``with_panoptic=True``."""
    transforms = list(_flatten(pipeline))
    names = [_type_name(t) for t in transforms]
    if ANNOTATION_LOADER not in names:
        raise ValueError(f'{where}: the pipeline has no {ANNOTATION_LOADER} ({names}), so '
                         'there is no ground truth to browse')
    end = names.index(ANNOTATION_LOADER)
    kept = [ConfigDict(t) for t, n in zip(transforms[:end + 1], names) if n.startswith('Load')]
    kept[-1]['with_panoptic'] = True
    return kept


def dataset_config(cfg: Config, split: str, where: str) -> ConfigDict:
    """The dataset config of ``<split>_dataloader``, wrappers (``RepeatDataset`` ...) opened."""
    loader = cfg.get(f'{split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise ValueError(f'{where}: no {split}_dataloader.dataset in the config')
    dataset = loader['dataset']
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    return dataset


def browse(config: str, output_dir=None, show=True, split='train', max_videos=None,
           show_interval=2., cfg_options=None) -> int:
    """Draw the frames; return how many were drawn."""
    if output_dir is None and not show:
        raise ValueError('nothing to do: give --output-dir or drop --not-show')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmvps'))
    dataset_cfg = dataset_config(cfg, split, config)
    load = Compose(loading_pipeline(dataset_cfg.get('pipeline', []), config))
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[]))

    vis_cfg = dict(cfg.get('visualizer', {}))
    vis_cfg.update(type='VideoPanopticVisualizer', name='browse_dataset', vis_backends=None)
    visualizer = VISUALIZERS.build(vis_cfg)
    visualizer.dataset_meta = dataset.metainfo

    num_videos = len(dataset) if max_videos is None else min(max_videos, len(dataset))
    videos = [dataset.get_data_info(i) for i in range(num_videos)]
    drawn = 0
    with tqdm(total=sum(len(v['images']) for v in videos), desc='frames') as bar:
        for video in videos:
            for frame in video['images']:
                results = load(dict(frame))
                sample = DetDataSample(metainfo=dict(
                    img_path=frame['img_path'], video_name=frame['video_name'],
                    frame_name=frame['frame_name']))
                sample.gt_panoptic_seg = PixelData(
                    sem_seg=torch.from_numpy(results['gt_panoptic_seg'][None]))
                out_file = frame_out_file(output_dir, sample) if output_dir else None
                visualizer.add_datasample(
                    osp.basename(frame['img_path']), results['img'][..., ::-1], sample,
                    draw_pred=False, show=show, wait_time=show_interval, out_file=out_file)
                drawn += 1
                bar.update()
    print(f'{drawn} frames of {num_videos} of {len(dataset)} {split} videos'
          + (f' written to {output_dir}' if output_dir else ''))
    return drawn


def main():
    args = parse_args()
    try:
        browse(args.config, args.output_dir, not args.not_show, args.split, args.max_videos,
               args.show_interval, args.cfg_options)
    except ValueError as err:
        sys.exit(f'error: {err}')


if __name__ == '__main__':
    main()

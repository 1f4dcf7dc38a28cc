"""Test (and evaluate) a video segmentation model with mmengine's Runner (mmdet's
``tools/test.py`` flags)."""
import argparse
import os
import os.path as osp

from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.utils import setup_cache_size_limit_of_dynamo
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmvps.engine import (add_checkpoint_check, check_checkpoint_file, close_distributed,
                          init_cpu_distributed)
from mmvps.registry import RUNNERS
from mmvps.utils import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a video segmentation model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--show', action='store_true', help='show the predictions in a window')
    parser.add_argument(
        '--show-dir',
        help='save the painted frames to this dir (relative paths land in '
        'work_dir/<timestamp>/<show-dir>)')
    parser.add_argument('--wait-time', type=float, default=2, help='interval of --show (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs such as '
        'test_dataloader.dataset.data_root=data/VIPSeg or key="[a,b]" (no white space)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    setup_cache_size_limit_of_dynamo()

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    cfg.load_from = args.checkpoint

    # default_hooks.visualization (VideoPanopticVisualizationHook) gets draw=True,
    # test_out_dir=--show-dir and show/wait_time, as in mmdet.
    if args.show or args.show_dir:
        if 'visualization' not in cfg.get('default_hooks', {}):
            raise RuntimeError(f'{args.config}: --show/--show-dir need a visualization hook, '
                               "e.g. default_hooks.visualization = "
                               "dict(type='VideoPanopticVisualizationHook')")
        cfg = trigger_visualization_hook(cfg, args)

    # a missing / empty checkpoint, or one of another config, stops here with its name
    check_checkpoint_file(cfg.get('load_from'))
    add_checkpoint_check(cfg)
    init_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.test()
    del runner  # its cycles hold the DDP wrapper and, through it, the process group
    close_distributed()


if __name__ == '__main__':
    main()

"""Print the whole config as mmengine resolves it (``_base_`` files merged, overrides applied),
and optionally save it.

Example::

    python tools/misc/print_config.py configs/video_kmax/video_kmax_r18_near-online_synthetic.py \
        --cfg-options model.tracker.momentum=0.9 --save-path resolved.py
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='Print the resolved config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--save-path', help='also save the resolved config here (.py/.json/.yaml)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides, as in tools/train.py')
    return parser.parse_args(args)


def main(args=None):
    args = parse_args(args)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'{args.config}: config file not found')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save_path:
        if not args.save_path.endswith(('.py', '.json', '.yaml', '.yml')):
            raise ValueError(f'{args.save_path}: save as .py, .json or .yaml')
        cfg.dump(args.save_path)
        print(f'Config saved to {args.save_path}')
    return cfg


if __name__ == '__main__':
    main()

"""Prepare a trained checkpoint for release: keep the weights and the meta (dataset_meta, the
config), drop the optimizer, scheduler and message-hub state, and add the first 8 hex digits of
the file's sha256 to its name (OpenMMLab's ``<name>-<sha8>.pth`` convention).

Example::

    python tools/misc/publish_model.py work_dirs/video_kmax_r18/iter_1500.pth \
        video_kmax_r18_synthetic.pth   # -> video_kmax_r18_synthetic-1a2b3c4d.pth
"""
import argparse
import hashlib
import os
import os.path as osp

import torch

import mmvps  # noqa: F401  (allow-lists the globals of mmengine checkpoints for torch.load)

DROPPED = ('optimizer', 'param_schedulers', 'message_hub', 'scheduler')


def parse_args(args=None):
    parser = argparse.ArgumentParser(description='Strip a checkpoint for release')
    parser.add_argument('in_file', help='checkpoint written by training')
    parser.add_argument('out_file', help='output name (the sha256 prefix is added)')
    return parser.parse_args(args)


def publish(in_file: str, out_file: str) -> str:
    """Write the stripped checkpoint and return its final path."""
    if not osp.isfile(in_file):
        raise FileNotFoundError(f'{in_file}: checkpoint not found')
    if not out_file.endswith('.pth'):
        raise ValueError(f'{out_file}: the output name must end with .pth')
    checkpoint = torch.load(in_file, map_location='cpu')
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{in_file}: not an mmengine checkpoint (no "state_dict")')
    for key in DROPPED:
        checkpoint.pop(key, None)
    torch.save(checkpoint, out_file)
    with open(out_file, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    final = f'{out_file[:-len(".pth")]}-{sha[:8]}.pth'
    os.replace(out_file, final)
    return final


def main(args=None):
    args = parse_args(args)
    final = publish(args.in_file, args.out_file)
    print(f'published {final}')
    return final


if __name__ == '__main__':
    main()

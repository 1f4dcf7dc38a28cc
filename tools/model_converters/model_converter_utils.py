"""Pieces shared by the model converters: reading a detectron2 checkpoint, renaming a
detectron2 ResNet into mmdet's ``ResNet``, filling ``num_batches_tracked`` and saving the result
as an mmengine checkpoint with ``meta``.

The converters run as scripts and are loaded by path in the tests: they put this folder on
``sys.path`` and import this module by its (unique) name.
"""
import pickle
import re
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch

BN_STATS = r'(weight|bias|running_mean|running_var|num_batches_tracked)$'
# detectron2 ResNet (stem conv1 / res{2..5}) -> mmdet ResNet (conv1, bn1 / layer{1..4})
DETECTRON2_RESNET_RULES = [
    (r'^stem\.conv1\.norm\.', 'bn1.'),
    (r'^stem\.conv1\.weight$', 'conv1.weight'),
    (r'^res(\d)\.(\d+)\.shortcut\.norm\.', lambda m: f'layer{int(m[1]) - 1}.{m[2]}.downsample.1.'),
    (r'^res(\d)\.(\d+)\.shortcut\.weight$',
     lambda m: f'layer{int(m[1]) - 1}.{m[2]}.downsample.0.weight'),
    (r'^res(\d)\.(\d+)\.conv(\d)\.norm\.', lambda m: f'layer{int(m[1]) - 1}.{m[2]}.bn{m[3]}.'),
    (r'^res(\d)\.(\d+)\.conv(\d)\.weight$',
     lambda m: f'layer{int(m[1]) - 1}.{m[2]}.conv{m[3]}.weight'),
]
RESNET_KEY = re.compile(r'^(conv1\.weight|bn1\.' + BN_STATS + r'|layer\d\.\d+\.(conv\d\.weight|'
                        r'bn\d\.' + BN_STATS + r'|downsample\.0\.weight|downsample\.1\.' +
                        BN_STATS + r'))$')


def apply_rules(rules, key: str) -> str:
    """Apply every ``(pattern, replacement)`` of ``rules`` to ``key`` in turn."""
    for pattern, repl in rules:
        key = re.sub(pattern, repl, key)
    return key


def detectron2_resnet_key(key: str) -> Optional[str]:
    """The mmdet ``ResNet`` key of a detectron2 ResNet key (without ``backbone.``), or None when
    the key has no place in mmdet's ResNet."""
    new = apply_rules(DETECTRON2_RESNET_RULES, key)
    return new if RESNET_KEY.match(new) else None


def load_detectron2_checkpoint(path: str) -> Dict[str, torch.Tensor]:
    """The ``model`` state dict of a detectron2 ``.pth`` (torch) or ``.pkl`` (numpy) file."""
    if not Path(path).is_file():
        raise FileNotFoundError(f'{path}: no such checkpoint file')
    if path.endswith('.pkl'):
        with open(path, 'rb') as f:
            obj = pickle.load(f, encoding='latin1')
    else:
        # detectron2 checkpoints carry optimizer / scheduler objects: not weights-only
        obj = torch.load(path, map_location='cpu', weights_only=False)
    state = obj.get('model', obj.get('state_dict', obj)) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path}: expected a dict with a "model" state dict, got {type(obj)}')
    return {k: torch.from_numpy(np.asarray(v)) if isinstance(v, np.ndarray) else v
            for k, v in state.items()}


def add_num_batches_tracked(converted: Dict[str, torch.Tensor]) -> None:
    """Give every BN (a ``running_mean`` key) without ``num_batches_tracked`` a 0 one, as the
    ported frozen / detectron2 BN layers lack it and mmcv's BN expects it."""
    for key in list(converted):
        if key.endswith('.running_mean'):
            tracked = key[:-len('running_mean')] + 'num_batches_tracked'
            converted.setdefault(tracked, torch.tensor(0, dtype=torch.long))


def save_converted(converted: Dict[str, torch.Tensor], info: dict, src: str, dst: str) -> None:
    """Save ``{'state_dict': converted, 'meta': {'source': src, **info}}`` to ``dst`` (creating
    its folder) and print a one-line summary."""
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=converted, meta=dict(source=src, **info)), dst)
    print(f'{src} -> {dst}: {len(converted)} tensors; {info}')

"""Stop on a checkpoint that does not fit the model, instead of training or testing a mostly
untrained model after a screen of warnings (mmengine loads with ``strict=False``)."""
import os
import re
import zipfile

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmvps.registry import HOOKS


def check_checkpoint_file(path, what='checkpoint'):
    """Raise naming ``path`` when a local checkpoint file is missing, empty or no torch
    checkpoint (torch would fail later with a bare ``EOFError`` / ``UnpicklingError``).
    URLs and other remote names (``scheme://...``) are left to mmengine."""
    if path is None or '://' in str(path):
        return
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: {what} not found')
    if os.path.getsize(path) == 0:
        raise ValueError(f'{path}: {what} is an empty file')
    if not zipfile.is_zipfile(path):  # torch.save writes zip archives since torch 1.6
        with open(path, 'rb') as f:
            legacy_pickle = f.read(1) == b'\x80'
        if not legacy_pickle:
            raise ValueError(f'{path}: {what} is not a torch checkpoint (truncated or another '
                             f'kind of file)')


@HOOKS.register_module()
class CheckpointLoadCheckHook(Hook):
    """Refuse a checkpoint (``load_from``, ``--resume``, ``tools/test.py``) that fills less than
    ``min_loaded_ratio`` of the model's parameter and buffer elements with a tensor of the same
    name and shape, e.g. a checkpoint of another config.

    ``tools/train.py`` and ``tools/test.py`` add it with the default ratio unless the config's
    ``custom_hooks`` already has one; loading partially on purpose (e.g. an image model into a
    video model) takes ``custom_hooks = [dict(type='CheckpointLoadCheckHook',
    min_loaded_ratio=0.)]`` or a lower ratio.

    Args:
        min_loaded_ratio (float): least fraction of the model's elements the checkpoint must
            load. Defaults to 0.5.
        revise_keys (list[tuple]): ``(pattern, replacement)`` applied to the checkpoint keys
            first, as ``Runner.load_checkpoint`` does. Defaults to stripping ``module.``.
    """
    priority = 'VERY_HIGH'

    def __init__(self, min_loaded_ratio=0.5, revise_keys=((r'^module\.', ''), )):
        if not 0 <= min_loaded_ratio <= 1:
            raise ValueError(f'min_loaded_ratio must lie in [0, 1], got {min_loaded_ratio}')
        self.min_loaded_ratio = min_loaded_ratio
        self.revise_keys = [tuple(pair) for pair in revise_keys]

    def after_load_checkpoint(self, runner, checkpoint):
        state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
        if not isinstance(state, dict):
            raise ValueError(f'{self._name(runner)}: holds no state_dict')
        shapes = {}
        for key, value in state.items():
            for pattern, replacement in self.revise_keys:
                key = re.sub(pattern, replacement, key)
            shapes[key] = tuple(getattr(value, 'shape', ()))
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        own = model.state_dict()
        total = sum(v.numel() for v in own.values())
        loaded = sum(v.numel() for k, v in own.items() if shapes.get(k) == tuple(v.shape))
        ratio = loaded / max(total, 1)
        if ratio < self.min_loaded_ratio:
            missing = [k for k, v in own.items() if shapes.get(k) != tuple(v.shape)]
            raise RuntimeError(
                f'{self._name(runner)}: fits only {100 * ratio:.1f}% of the model\'s parameters '
                f'(same name and shape; {len(missing)} of {len(own)} tensors do not load, e.g. '
                f'{missing[:3]}): probably a checkpoint of another config. To load it partially '
                f'on purpose, set custom_hooks = [dict(type=\'CheckpointLoadCheckHook\', '
                f'min_loaded_ratio=0.)] (now {self.min_loaded_ratio}).')
        runner.logger.info(f'checkpoint fills {100 * ratio:.1f}% of the model\'s parameters')

    @staticmethod
    def _name(runner):
        path = getattr(runner, '_load_from', None)
        return f'checkpoint {path}' if path else 'the resumed checkpoint'


def add_checkpoint_check(cfg):
    """Add :class:`CheckpointLoadCheckHook` to ``cfg.custom_hooks`` unless it has one."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') in ('CheckpointLoadCheckHook', CheckpointLoadCheckHook)
               for h in hooks):
        hooks.append(dict(type='CheckpointLoadCheckHook'))
    cfg.custom_hooks = hooks
    return cfg

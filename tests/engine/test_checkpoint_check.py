"""CheckpointLoadCheckHook and the checkpoint file check of tools/train.py and tools/test.py."""
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch import nn

from mmvps.engine import CheckpointLoadCheckHook, add_checkpoint_check, check_checkpoint_file
from mmvps.registry import HOOKS


class FakeRunner:
    def __init__(self, model, load_from):
        self.model = model
        self._load_from = load_from
        self.logger = MMLogger.get_instance('test_checkpoint_check')


def model():
    return nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 2))  # 110 + 22 elements


def test_checkpoint_of_another_model_is_refused(tmp_path):
    hook = HOOKS.build(dict(type='CheckpointLoadCheckHook'))
    runner = FakeRunner(model(), 'other.pth')
    other = nn.Sequential(nn.Linear(10, 4), nn.Linear(4, 2)).state_dict()  # only '1.bias' fits
    with pytest.raises(RuntimeError, match=r'checkpoint other.pth: fits only 1.5% of the '
                       r"model's parameters .* min_loaded_ratio=0.\)\] \(now 0.5\)"):
        hook.after_load_checkpoint(runner, dict(state_dict=other))
    # same model, DDP-style 'module.' keys: everything loads
    same = {f'module.{k}': v for k, v in model().state_dict().items()}
    hook.after_load_checkpoint(runner, dict(state_dict=same))
    # a head-only mismatch (22 of 132 elements) still loads with the default ratio
    head = dict(model().state_dict())
    head['1.weight'] = torch.zeros(3, 10)
    hook.after_load_checkpoint(runner, dict(state_dict=head))
    with pytest.raises(RuntimeError, match='fits only 84.8%'):
        CheckpointLoadCheckHook(min_loaded_ratio=0.9).after_load_checkpoint(
            runner, dict(state_dict=head))
    CheckpointLoadCheckHook(min_loaded_ratio=0.).after_load_checkpoint(runner,
                                                                      dict(state_dict=other))


def test_tools_add_the_hook_unless_configured():
    cfg = add_checkpoint_check(Config(dict()))
    assert cfg.custom_hooks == [dict(type='CheckpointLoadCheckHook')]
    own = [dict(type='CheckpointLoadCheckHook', min_loaded_ratio=0.)]
    assert add_checkpoint_check(Config(dict(custom_hooks=own))).custom_hooks == own


def test_checkpoint_file_check(tmp_path):
    check_checkpoint_file(None)
    check_checkpoint_file('https://example.com/a.pth')
    with pytest.raises(FileNotFoundError, match='missing.pth: checkpoint not found'):
        check_checkpoint_file(tmp_path / 'missing.pth')
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(ValueError, match='empty.pth: checkpoint is an empty file'):
        check_checkpoint_file(tmp_path / 'empty.pth')
    torch.save(dict(state_dict=model().state_dict()), tmp_path / 'ok.pth')
    check_checkpoint_file(tmp_path / 'ok.pth')
    (tmp_path / 'cut.pth').write_bytes((tmp_path / 'ok.pth').read_bytes()[:100])
    with pytest.raises(ValueError, match='cut.pth: checkpoint is not a torch checkpoint'):
        check_checkpoint_file(tmp_path / 'cut.pth')


def test_tools_stop_on_bad_checkpoints(tmp_path):
    """End to end: an empty --resume file and a test checkpoint of another model stop
    tools/train.py and tools/test.py with errors naming the file, before any training/testing."""
    import subprocess
    import sys

    from tiny_model import REPO_ROOT, make_tiny_dataset, tool_env, write_tiny_config
    metainfo = make_tiny_dataset(tmp_path / 'data')
    config = write_tiny_config(tmp_path / 'tiny.py', tmp_path / 'data', metainfo)
    (tmp_path / 'empty.pth').write_bytes(b'')
    torch.save(dict(state_dict=dict(other=torch.zeros(3))), tmp_path / 'other.pth')
    for tool, args, message in (
            ('train.py', ['--resume', tmp_path / 'empty.pth'], 'empty.pth: checkpoint is an empty '
             'file'),
            ('test.py', [tmp_path / 'other.pth'], "other.pth: fits only 0.0% of the model's")):
        proc = subprocess.run(
            [sys.executable, str(REPO_ROOT / 'tools' / tool), config, *map(str, args),
             '--work-dir', str(tmp_path / 'work')], env=tool_env(), capture_output=True,
            text=True, timeout=300)
        assert proc.returncode != 0 and message in proc.stdout + proc.stderr, proc.stderr[-3000:]
        assert 'Iter(' not in proc.stdout + proc.stderr

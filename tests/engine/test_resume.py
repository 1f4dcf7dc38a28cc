"""Resume with ``tools/train.py --resume`` on torch >= 2.6 (``torch.load`` defaults to
``weights_only=True``): the allow-list of mmvps.utils.checkpoint_globals is exactly what mmengine
checkpoints need, nothing else loads, and a resumed run continues bit for bit."""
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from tiny_model import REPO_ROOT, make_tiny_dataset, tool_env, write_tiny_config

from mmvps.utils import CHECKPOINT_GLOBALS

TRAIN = str(REPO_ROOT / 'tools' / 'train.py')


def start_training(*args):
    return subprocess.Popen([sys.executable, TRAIN, *map(str, args)], env=tool_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc, expect_rc=0):
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == expect_rc, out[-5000:]
    return out


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """An uninterrupted 6-iteration run, and the same config interrupted after iteration 3
    (checkpoint saved, process gone) then resumed with ``--resume`` (latest checkpoint)."""
    root = tmp_path_factory.mktemp('resume')
    metainfo = make_tiny_dataset(root / 'data')
    config = write_tiny_config(root / 'tiny.py', root / 'data', metainfo)
    interrupted = root / 'tiny_interrupted.py'
    interrupted.write_text("_base_ = './tiny.py'\n"
                           "custom_hooks = [dict(type='InterruptTrainingHook', after_iter=3)]\n")
    full = start_training(config, '--work-dir', root / 'full')
    finish(start_training(interrupted, '--work-dir', root / 'resumed'), expect_rc=3)
    first_part = sorted(p.name for p in (root / 'resumed').glob('*.pth'))
    resume_log = finish(start_training(config, '--work-dir', root / 'resumed', '--resume'))
    finish(full)
    return root, first_part, resume_log


def test_interrupted_run_resumes_and_matches_uninterrupted(runs):
    root, first_part, resume_log = runs
    assert first_part == ['iter_3.pth']
    assert 'resumed epoch: 0, iter: 3' in resume_log
    assert 'Iter(train) [4/6]' in resume_log and 'Iter(train) [3/6]' not in resume_log

    full = torch.load(root / 'full' / 'iter_6.pth')
    resumed = torch.load(root / 'resumed' / 'iter_6.pth')
    assert full['meta']['iter'] == resumed['meta']['iter'] == 6
    assert full['state_dict'].keys() == resumed['state_dict'].keys()
    for name, value in full['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][name]), name
    # AdamW moments and step counts, and the LR schedule (warm-up, then a step at iteration 4)
    full_state, resumed_state = full['optimizer']['state'], resumed['optimizer']['state']
    assert full_state.keys() == resumed_state.keys() and len(full_state) == 4
    for index, state in full_state.items():
        for key, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(resumed_state[index][key]))
    assert full['param_schedulers'] == resumed['param_schedulers']
    assert resumed['optimizer']['param_groups'][0]['lr'] == pytest.approx(0.001)
    # the message hub continues too: losses of iterations 1-3 come from the checkpoint, 4-6
    # from the resumed process, all equal to the uninterrupted run's
    full_losses = full['message_hub']['log_scalars']['train/loss'].data
    resumed_losses = resumed['message_hub']['log_scalars']['train/loss'].data
    assert len(full_losses[0]) == 6
    assert all(np.array_equal(a, b) for a, b in zip(full_losses, resumed_losses))


def _global_names(globals_list):
    return {entry[1] if isinstance(entry, tuple) else f'{entry.__module__}.{entry.__qualname__}'
            for entry in globals_list}


FRESH_PROCESS = """
import json, pickle, sys, torch
report = dict(unsafe=[], refused=[])
for path in sys.argv[1:]:
    report['unsafe'] += torch.serialization.get_unsafe_globals_in_checkpoint(path)
    try:
        torch.load(path)
    except pickle.UnpicklingError:
        report['refused'].append(path)
print(json.dumps(report))
"""


def test_allow_list_is_exactly_what_checkpoints_need(runs):
    """In a fresh process without mmvps, torch's weights_only load refuses every checkpoint,
    and the globals it objects to are exactly the allow-list."""
    root = runs[0]
    checkpoints = [str(root / name) for name in
                   ('full/iter_3.pth', 'full/iter_6.pth', 'resumed/iter_6.pth')]
    proc = subprocess.run([sys.executable, '-c', FRESH_PROCESS, *checkpoints],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report['refused'] == checkpoints
    allowed = _global_names(CHECKPOINT_GLOBALS)
    # the rest of the allow-list: numpy dtype classes (rebuilt objects, not pickled globals) and
    # the numpy 1.x names of the same numpy functions
    others = {name for name in allowed if name.startswith(('numpy.dtypes.', 'numpy.core.'))}
    assert len(others) == 4
    assert set(report['unsafe']) == allowed - others
    for checkpoint in checkpoints:  # with mmvps imported (this process) all load
        assert torch.load(checkpoint)['meta']['iter'] in (3, 6)


class _AttributeLookup:
    """Pickles as ``getattr(owner, name)``."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


@pytest.mark.parametrize('name', ['__init__', 'update', '__class__'])
def test_getattr_allowed_only_for_history_buffer_statistics(tmp_path, name):
    path = tmp_path / 'lookup.pth'
    torch.save({'statistic': _AttributeLookup(HistoryBuffer, 'mean')}, path)
    assert torch.load(path)['statistic'] is HistoryBuffer.mean
    torch.save({'other': _AttributeLookup(HistoryBuffer, name)}, path)
    with pytest.raises(pickle.UnpicklingError, match=f"getattr.*'{name}'"):
        torch.load(path)

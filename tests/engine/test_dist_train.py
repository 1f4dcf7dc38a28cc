"""A 2-process CPU run (torchrun via tools/dist_train.sh, gloo, --launcher pytorch) trains the
tiny model on the synthetic videos and evaluates it; a 1-process tools/test.py of the same
checkpoint gives the same metrics and draws every frame with --show-dir."""
import json
import socket
import subprocess
import sys
import textwrap

import pytest
from tiny_model import REPO_ROOT, make_tiny_dataset, tool_env, write_tiny_config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run(command, env, timeout):
    proc = subprocess.run(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout


def metrics_of(work_dir, mode):
    """The metrics a LoggerHook wrote: the last val entry of scalars.json, or the test json."""
    (log_dir, ) = [p for p in work_dir.iterdir() if p.is_dir()]
    if mode == 'val':
        lines = (log_dir / 'vis_data' / 'scalars.json').read_text().splitlines()
        entries = [json.loads(line) for line in lines]
        return [entry for entry in entries if 'vps/PQ' in entry][-1]
    return json.loads((log_dir / f'{log_dir.name}.json').read_text())


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    metainfo = make_tiny_dataset(root / 'data')
    return root, write_tiny_config(root / 'tiny.py', root / 'data', metainfo)


def test_two_process_cpu_train_and_val(tiny):
    root, config = tiny
    work_dir = root / 'dist'
    env = dict(tool_env(), PORT=str(free_port()), PYTHON=sys.executable)
    log = run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(work_dir),
               '--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=4'],
              env, timeout=240)
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert 'CPUDistributedDataParallel' in log
    assert 'Iter(train) [4/4]' in log
    # each rank streams one of the 2 validation videos (4 frames each)
    assert 'Iter(val) [4/4]' in log and 'Iter(val) [8/8]' not in log
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith('iter_4.pth')
    val_metrics = metrics_of(work_dir, 'val')
    assert 0 <= val_metrics['vps/PQ'] <= 100

    # the same checkpoint in one process: all 8 frames on one rank, the same numbers, and
    # --show-dir writes <work_dir>/<timestamp>/<show-dir>/<video>/<frame>.jpg for every frame
    test_dir = root / 'test'
    log = run([sys.executable, 'tools/test.py', config, str(work_dir / 'iter_4.pth'), '--work-dir',
               str(test_dir), '--show-dir', 'show'], tool_env(), timeout=180)
    assert 'Iter(test) [8/8]' in log
    test_metrics = metrics_of(test_dir, 'test')
    for key, value in test_metrics.items():
        if key.startswith('vps/'):
            assert value == pytest.approx(val_metrics[key], abs=1e-9), key
    drawn = sorted(p.relative_to(test_dir).parts[1:] for p in test_dir.glob('*/show/*/*.jpg'))
    frames = sorted(('show', p.parent.name, p.stem + '.jpg')
                    for p in (root / 'data' / 'imgs').glob('*/*.jpg')
                    if p.parent.name in (root / 'data' / 'val.txt').read_text().split())
    assert drawn == frames and len(drawn) == 8


def test_close_distributed_frees_the_ddp_wrapper_before_destroying_the_group(tmp_path):
    """The runner's reference cycles keep the DDP wrapper (and its gloo group) alive after the
    tools drop the runner; ``close_distributed`` must free them while the interpreter is alive,
    not leave them to interpreter finalization (where gloo's threads can abort the process)."""
    code = f"""
        import gc
        import torch
        import torch.distributed as dist
        from mmvps.engine import CPUDistributedDataParallel, close_distributed
        gc.disable()  # only close_distributed may collect the cycle
        dist.init_process_group('gloo', init_method='file://{tmp_path / 'store'}', rank=0,
                                world_size=1)

        class Runner:  # stands in for mmengine's Runner, which sits in reference cycles
            pass

        runner = Runner()
        runner.itself = runner
        runner.model = CPUDistributedDataParallel(torch.nn.Linear(2, 2))
        del runner

        def alive():
            return sum(isinstance(o, torch.nn.parallel.DistributedDataParallel)
                       for o in gc.get_objects())

        print(alive(), dist.is_initialized())
        close_distributed()
        print(alive(), dist.is_initialized())
        """
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], env=tool_env(),
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split('\n')[:2] == ['1 True', '0 False']

"""tools/train.py and tools/test.py flags, the CPU distributed set-up, the base configs and the
commands the README promises."""
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmvps.engine import cpu_distributed
from mmvps.registry import HOOKS, VISUALIZERS

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'mmvps_tool_{name}',
                                                  REPO_ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeRunner:
    """Stands in for mmengine's Runner: records the final config and the call."""
    built = None

    @classmethod
    def from_cfg(cls, cfg):
        FakeRunner.built = cls()
        FakeRunner.built.cfg = cfg
        FakeRunner.built.calls = []
        return FakeRunner.built

    def train(self):
        self.calls.append('train')

    def test(self):
        self.calls.append('test')


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / 'my_config.py'
    path.write_text(
        f"_base_ = [{str(REPO_ROOT / 'configs/_base_/default_runtime.py')!r},\n"
        f"          {str(REPO_ROOT / 'configs/_base_/schedules/schedule_1x.py')!r}]\n"
        "model = dict(type='ResNet', depth=18)\n")
    return path


def run_tool(name, monkeypatch, *argv):
    tool = load_tool(name)
    monkeypatch.setattr(tool, 'Runner', FakeRunner)
    monkeypatch.setattr('sys.argv', [f'{name}.py', *map(str, argv)])
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    tool.main()
    return FakeRunner.built


def test_train_defaults(config_file, monkeypatch):
    runner = run_tool('train', monkeypatch, config_file)
    assert runner.calls == ['train']
    cfg = runner.cfg
    assert cfg.work_dir == './work_dirs/my_config'
    assert cfg.launcher == 'none'
    assert cfg.resume is False and cfg.load_from is None
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert cfg.auto_scale_lr.enable is False


def test_train_flags(config_file, tmp_path, monkeypatch):
    runner = run_tool('train', monkeypatch, config_file, '--work-dir', tmp_path / 'wd', '--amp',
                      '--auto-scale-lr', '--cfg-options', 'train_cfg.max_epochs=3',
                      'optim_wrapper.optimizer.lr=0.5')
    cfg = runner.cfg
    assert cfg.work_dir == str(tmp_path / 'wd')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=8)
    assert cfg.train_cfg.max_epochs == 3 and cfg.optim_wrapper.optimizer.lr == 0.5


def save_checkpoint(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict={}), path)


def test_train_resume(config_file, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    cfg = run_tool('train', monkeypatch, config_file, '--resume').cfg
    assert cfg.resume is True and cfg.load_from is None  # latest checkpoint of the work dir
    save_checkpoint(tmp_path / 'some' / 'iter_8.pth')
    cfg = run_tool('train', monkeypatch, config_file, '--resume', 'some/iter_8.pth').cfg
    assert cfg.resume is True and cfg.load_from == 'some/iter_8.pth'
    assert cfg.custom_hooks == [dict(type='CheckpointLoadCheckHook')]


def test_train_auto_scale_lr_needs_base_batch_size(tmp_path, monkeypatch):
    config = tmp_path / 'no_scale.py'
    config.write_text("model = dict(type='ResNet', depth=18)\n")
    with pytest.raises(RuntimeError, match=r'no_scale\.py.*base_batch_size'):
        run_tool('train', monkeypatch, config, '--auto-scale-lr')


def test_test_flags(config_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_checkpoint(tmp_path / 'ckpt.pth')
    runner = run_tool('test', monkeypatch, config_file, 'ckpt.pth')
    assert runner.calls == ['test']
    assert runner.cfg.load_from == 'ckpt.pth'
    assert runner.cfg.default_hooks.visualization == dict(type='VideoPanopticVisualizationHook')

    runner = run_tool('test', monkeypatch, config_file, 'ckpt.pth', '--show-dir', 'show',
                      '--work-dir', tmp_path)
    assert runner.cfg.default_hooks.visualization == dict(
        type='VideoPanopticVisualizationHook', draw=True, test_out_dir='show')
    assert runner.cfg.work_dir == str(tmp_path)

    runner = run_tool('test', monkeypatch, config_file, 'ckpt.pth', '--show', '--wait-time',
                      '0.5')
    assert runner.cfg.default_hooks.visualization == dict(
        type='VideoPanopticVisualizationHook', draw=True, show=True, wait_time=0.5)


def test_show_dir_needs_visualization_hook(tmp_path, monkeypatch):
    config = tmp_path / 'no_vis.py'
    config.write_text("default_hooks = dict(timer=dict(type='IterTimerHook'))\n")
    with pytest.raises(RuntimeError, match=r'no_vis\.py.*visualization'):
        run_tool('test', monkeypatch, config, 'ckpt.pth', '--show-dir', 'show')


def test_init_cpu_distributed(monkeypatch):
    calls = []
    monkeypatch.setattr(cpu_distributed.torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(cpu_distributed, 'is_distributed', lambda: False)
    monkeypatch.setattr(cpu_distributed.torch.distributed, 'init_process_group',
                        lambda **kwargs: calls.append(kwargs))

    cfg = Config(dict(launcher='none'))
    cpu_distributed.init_cpu_distributed(cfg)
    assert calls == [] and 'model_wrapper_cfg' not in cfg

    cfg = Config(dict(launcher='pytorch', find_unused_parameters=True,
                      env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60))))
    cpu_distributed.init_cpu_distributed(cfg)
    assert len(calls) == 1 and calls[0]['backend'] == 'gloo'
    assert calls[0]['timeout'].total_seconds() == 60
    assert cfg.model_wrapper_cfg == dict(type='mmvps.engine.CPUDistributedDataParallel',
                                         broadcast_buffers=False, find_unused_parameters=True)

    own_wrapper = dict(type='MMDistributedDataParallel')
    cfg = Config(dict(launcher='pytorch', model_wrapper_cfg=own_wrapper))
    cpu_distributed.init_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg == own_wrapper

    with pytest.raises(RuntimeError, match='slurm.*needs CUDA'):
        cpu_distributed.init_cpu_distributed(Config(dict(launcher='slurm')))


@pytest.mark.parametrize('schedule', sorted((REPO_ROOT / 'configs/_base_/schedules').glob('*.py')))
def test_schedules_build(schedule):
    cfg = Config.fromfile(schedule)
    model = nn.Linear(2, 2)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert optim_wrapper.optimizer.defaults['lr'] == cfg.optim_wrapper.optimizer.lr
    assert cfg.train_cfg.type in ('EpochBasedTrainLoop', 'IterBasedTrainLoop')
    assert cfg.auto_scale_lr.base_batch_size > 0


def test_default_runtime_names_registered_modules():
    cfg = Config.fromfile(REPO_ROOT / 'configs/_base_/default_runtime.py')
    assert cfg.default_scope == 'mmvps'
    assert HOOKS.get(cfg.default_hooks.visualization.type).__module__.startswith('mmvps.')
    assert VISUALIZERS.get(cfg.visualizer.type).__module__.startswith('mmvps.')


def test_shell_scripts_parse():
    names = ['install', 'run_tests', 'run_main_job', 'dist_train', 'dist_test', 'slurm_train',
             'slurm_test']
    scripts = [REPO_ROOT / 'tools' / f'{name}.sh' for name in names] + [REPO_ROOT / '.ci/run']
    for script in scripts:
        proc = subprocess.run(['bash', '-n', str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, f'{script}: {proc.stderr}'


def test_readme_commands_and_paths_exist():
    readme = (REPO_ROOT / 'README.md').read_text()
    assert 'bash tools/run_main_job.sh' in readme and 'bash tools/run_tests.sh' in readme
    assert 'exec bash tools/run_tests.sh' in (REPO_ROOT / '.ci' / 'run').read_text()
    main_job = (REPO_ROOT / 'tools' / 'run_main_job.sh').read_text()
    (config, ) = re.findall(r'^CONFIG=(\S+)$', main_job, flags=re.MULTILINE)
    assert (REPO_ROOT / config).is_file(), f'tools/run_main_job.sh: CONFIG {config} is missing'
    datasets_doc = (REPO_ROOT / 'docs' / 'datasets.md').read_text()
    referenced = set(re.findall(r'(?:tools|configs)/[\w/]+\.py', readme + datasets_doc))
    assert 'tools/dataset_converters/vipseg_to_720p.py' in referenced
    missing = sorted(path for path in referenced if not (REPO_ROOT / path).is_file())
    assert not missing, f'README.md / docs/datasets.md name missing files: {missing}'

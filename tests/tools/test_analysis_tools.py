"""The mmdet-style tools added for video models: print_config, publish_model, analyze_logs,
benchmark (frames/s), on the tiny CPU configs."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
KNET = REPO_ROOT / 'configs/video_knet/video_knet_r18_synthetic.py'


def load_tool(relative):
    path = REPO_ROOT / 'tools' / relative
    spec = importlib.util.spec_from_file_location(f'tool_{path.stem}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_print_config_resolves_bases_and_overrides(tmp_path, capsys):
    tool = load_tool('misc/print_config.py')
    cfg = tool.main([str(KNET), '--cfg-options', 'model.tracker.match_score_thr=0.123',
                     '--save-path', str(tmp_path / 'resolved.py')])
    assert cfg.model.tracker.match_score_thr == 0.123
    assert 'match_score_thr=0.123' in capsys.readouterr().out
    from mmengine.config import Config
    saved = Config.fromfile(str(tmp_path / 'resolved.py'))
    assert saved.model.tracker.match_score_thr == 0.123
    assert saved.test_dataloader.dataset.type == cfg.test_dataloader.dataset.type
    with pytest.raises(FileNotFoundError, match='nope.py: config file not found'):
        tool.main([str(tmp_path / 'nope.py')])


def test_publish_model_strips_training_state_and_names_the_hash(tmp_path):
    tool = load_tool('misc/publish_model.py')
    checkpoint = dict(state_dict={'w': torch.arange(3.)}, meta=dict(dataset_meta={'a': 1}),
                      optimizer={'state': {}}, param_schedulers=[], message_hub={})
    torch.save(checkpoint, tmp_path / 'iter_10.pth')
    final = Path(tool.main([str(tmp_path / 'iter_10.pth'), str(tmp_path / 'model.pth')]))
    import hashlib
    assert final.name == f'model-{hashlib.sha256(final.read_bytes()).hexdigest()[:8]}.pth'
    assert not (tmp_path / 'model.pth').exists()
    published = torch.load(final)
    assert set(published) == {'state_dict', 'meta'}
    assert torch.equal(published['state_dict']['w'], torch.arange(3.))
    (tmp_path / 'not_ckpt.pth').write_bytes(b'')
    torch.save({'x': 1}, tmp_path / 'not_ckpt.pth')
    with pytest.raises(ValueError, match='not_ckpt.pth: not an mmengine checkpoint'):
        tool.main([str(tmp_path / 'not_ckpt.pth'), str(tmp_path / 'o.pth')])


def test_analyze_logs_curves_and_train_time(tmp_path):
    tool = load_tool('analysis_tools/analyze_logs.py')
    log = tmp_path / 'scalars.json'
    lines = [dict(lr=0.1, loss=3.0 - i, time=0.5 + 0.1 * i, step=10 * (i + 1)) for i in range(3)]
    lines.append({'vps/STQ': 55.0, 'step': 30})
    log.write_text('\n'.join(json.dumps(line) for line in lines) + '\n')
    series = tool.load_json_log(str(log))
    assert series['loss'] == [(10, 3.0), (20, 2.0), (30, 1.0)]
    assert series['vps/STQ'] == [(30, 55.0)]
    out = tmp_path / 'curves.png'
    tool.main(['plot_curve', str(log), '--keys', 'loss', 'vps/STQ', '--out', str(out)])
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    times = tool.main(['cal_train_time', str(log)])[str(log)]
    assert times['mean'] == pytest.approx(0.6) and times['slowest'] == pytest.approx(0.7)
    with pytest.raises(KeyError, match='no "mIoU" logged'):
        tool.main(['plot_curve', str(log), '--keys', 'mIoU', '--out', str(out)])
    bad = tmp_path / 'bad.json'
    bad.write_text('{"loss": 1, "step": 1}\nnot json\n')
    with pytest.raises(ValueError, match='bad.json:2: not a JSON line'):
        tool.load_json_log(str(bad))


def test_benchmark_times_the_frames_after_warmup():
    tool = load_tool('analysis_tools/benchmark.py')
    result = tool.main([str(KNET), '--frames', '4', '--warmup', '1', '--size', '80', '48'])
    assert result['frames'] == 4 and result['fps'] > 0
    with pytest.raises(ValueError, match='need more than --warmup 4'):
        tool.main([str(KNET), '--frames', '4', '--warmup', '4', '--size', '80', '48'])


def test_get_flops_of_online_and_clip_level_models():
    tool = load_tool('analysis_tools/get_flops.py')
    knet = tool.main([str(KNET), '--shape', '48', '80'])
    assert knet['clip_frames'] == 1 and knet['network_input_shape'] == [96, 160]  # resized
    assert knet['gflops_per_clip'] > 0.05 and not knet['uncounted_matmul_like_ops']
    kmax = tool.main([str(REPO_ROOT / 'configs/video_kmax/video_kmax_r18_near-online_synthetic.py'),
                      '--shape', '48', '80'])
    assert kmax['clip_frames'] == 2
    assert kmax['gflops_per_frame'] == pytest.approx(kmax['gflops_per_clip'] / 2)
    assert not kmax['uncounted_matmul_like_ops']

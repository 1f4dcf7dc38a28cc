"""configs/other_project/: a config of another OpenMMLab project (default scope mmdet) trains and
tests an mmvps model and dataset with mmdet's own tools/train.py and tools/test.py."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mmdet

from mmvps.datasets.synthetic import generate_synthetic_vps

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / 'configs' / 'other_project' / 'mmdet_scope_video_knet_r18_synthetic.py'
# mmdet's wheel ships its tools under mmdet/.mim/tools (the layout `mim train mmdet` uses)
MMDET_TOOLS = Path(mmdet.__file__).parent / '.mim' / 'tools'


def test_config_is_another_projects_config():
    text = CONFIG.read_text()
    assert "_base_ = 'mmdet::_base_/default_runtime.py'" in text
    assert "custom_imports = dict(imports=['mmvps']" in text
    assert 'default_scope' not in text.replace("default scope 'mmdet'", '')  # mmdet's own


def test_mmdet_tools_train_and_test_the_config(tmp_path):
    """A few iterations on a tiny synthetic set with mmdet's tools (run as scripts, in one fresh
    interpreter with only mmdet imported first), then the test run with the checkpoint: the
    metric table and the drawn frames come out."""
    assert (MMDET_TOOLS / 'train.py').is_file(), MMDET_TOOLS
    generate_synthetic_vps(str(tmp_path / 'data' / 'synthetic_vps'), 2, 1, 4)
    options = [
        '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1'
    ]
    code = textwrap.dedent(f"""
        import runpy, sys
        def run(tool, *args):
            sys.argv = [tool, *args]
            runpy.run_path({str(MMDET_TOOLS)!r} + '/' + tool, run_name='__main__')
        run('train.py', {str(CONFIG)!r}, '--work-dir', 'wd', *{options!r})
        assert 'mmvps' in sys.modules  # imported by custom_imports only
        run('test.py', {str(CONFIG)!r}, 'wd/iter_2.pth', '--work-dir', 'wd', '--show-dir', 'vis')
        """)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Saving checkpoint at 2 iterations' in log
    assert 'Iter(test) [4/4]' in log and 'vps/STQ' in log  # 4 frames of the val video
    drawn = sorted((tmp_path / 'wd').glob('*/vis/*/*.jpg'))
    assert len(drawn) == 4

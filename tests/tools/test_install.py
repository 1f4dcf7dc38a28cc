"""tools/install.sh keeps a working stack and installs only what is missing: the decision logic
of tools/misc/install_plan.py, the script's dry run in real environments (a venv over the
installed stack, an empty venv), and the packaging (requirement ranges, LICENSE and configs in
the package)."""
import importlib.util
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_plan_module():
    spec = importlib.util.spec_from_file_location(
        'mmvps_install_plan', REPO_ROOT / 'tools' / 'misc' / 'install_plan.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


install_plan = load_plan_module()
WORKING = dict(torch='2.13.0+cpu', mmengine='0.10.7', mmcv='2.1.0', mmdet='3.3.0',
               numpy='2.4.0', mmcv_ops_error=None)


def test_version_tuple_reads_local_and_rc_versions():
    assert install_plan.version_tuple('2.1.0rc4+cu121') == (2, 1, 0)
    assert install_plan.version_tuple('2.13.0+cpu') == (2, 13, 0)
    with pytest.raises(ValueError):
        install_plan.version_tuple('abc')


def test_working_stack_is_kept_whatever_torch_2():
    for torch_version, mmcv, mmengine in (('2.13.0+cpu', '2.1.0', '0.10.7'),
                                          ('2.1.2+cu121', '2.0.1', '0.10.3'),
                                          ('2.0.0', '2.1.0', '0.10.0')):
        found = dict(WORKING, torch=torch_version, mmcv=mmcv, mmengine=mmengine, numpy='1.26.4')
        result = install_plan.plan(found)
        assert result['case'] == 'existing'
        assert result['install'] == [] and result['conflicts'] == []
        assert result['keep'] == dict(torch=torch_version, mmengine=mmengine, mmcv=mmcv,
                                      mmdet='3.3.0')
        assert f'torch=={torch_version}' in install_plan.constraints(result)


def test_existing_stack_with_setuptools_without_pkg_resources_is_kept_with_a_note():
    found = dict(WORKING, setuptools='84.2.1')
    result = install_plan.plan(found)
    assert result['case'] == 'existing'
    text = install_plan.describe(result, found)
    assert 'note: setuptools 84.2.1 has no pkg_resources' in text
    assert 'note' not in install_plan.describe(result, dict(WORKING, setuptools='80.9.0'))


def test_nothing_usable_installs_the_pinned_stack():
    found = dict(torch=None, mmengine=None, mmcv=None, mmdet=None, numpy=None)
    result = install_plan.plan(found)
    assert result['case'] == 'fresh'
    assert result['install'] == ['torch', 'mmengine', 'mmcv', 'mmdet']
    assert install_plan.constraints(result) == []  # torch 2.13 takes numpy 2
    assert 'fresh' in install_plan.describe(result, found)


def test_partial_keeps_torch_and_adds_the_rest():
    found = dict(torch='2.1.2+cu121', mmengine=None, mmcv=None, mmdet=None, numpy='1.26.4')
    result = install_plan.plan(found)
    assert result['case'] == 'partial'
    assert result['keep'] == {'torch': '2.1.2+cu121'}
    assert result['install'] == ['mmengine', 'mmcv', 'mmdet']
    # torch < 2.3 is built against numpy 1: pip must not pull numpy 2 (e.g. through opencv)
    assert install_plan.constraints(result) == ['torch==2.1.2+cu121', 'numpy<2']


@pytest.mark.parametrize('package,version,message', [
    ('torch', '1.13.1', 'torch 1.13.1 is installed; mmvps needs torch >= 2.0, < 3.0'),
    ('mmcv', '2.2.0', 'mmcv 2.2.0 is installed; mmvps needs mmcv >= 2.0, < 2.2'),
    ('mmdet', '3.2.0', 'mmdet 3.2.0 is installed; mmvps needs mmdet >= 3.3, < 3.4'),
    ('mmengine', '1.0.0', 'mmengine 1.0.0 is installed; mmvps needs mmengine >= 0.10, < 1.0'),
])
def test_unusable_package_is_a_conflict_and_nothing_is_replaced(package, version, message):
    result = install_plan.plan(dict(WORKING, **{package: version}))
    assert result['case'] == 'conflict'
    assert result['conflicts'] == [message]
    assert package not in result['keep'] and result['install'] == []
    text = install_plan.describe(result, WORKING)
    assert message in text and 'MMVPS_REPLACE_STACK=1' in text and 'Nothing was changed' in text
    replaced = install_plan.plan(dict(WORKING, **{package: version}), replace=True)
    assert replaced['case'] == 'partial' and replaced['install'] == [package]


def test_mmcv_without_ops_and_numpy2_under_old_torch_are_conflicts():
    result = install_plan.plan(dict(WORKING, mmcv_ops_error="No module named 'mmcv._ext'"))
    assert result['case'] == 'conflict'
    assert "mmcv 2.1.0 is installed but its compiled ops do not load" in result['conflicts'][0]
    assert "No module named 'mmcv._ext'" in result['conflicts'][0]
    result = install_plan.plan(dict(WORKING, torch='2.1.2', numpy='2.0.1'))
    assert result['case'] == 'conflict'
    assert result['conflicts'] == [
        'numpy 2.0.1 is installed with torch 2.1.2, whose wheels are built against numpy 1 '
        '(torch >= 2.3 supports numpy 2); mmvps needs numpy < 2 here']


def test_setuptools_restore_keeps_a_version_torch_accepts():
    import importlib.metadata as metadata
    needs = [r for r in metadata.requires('torch') or [] if r.startswith('setuptools')]
    restored = install_plan.setuptools_to_restore('80.9.0')
    assert restored == 'setuptools==80.9.0'
    # 81 and later drop pkg_resources (mmengine imports it): never kept
    assert install_plan.setuptools_to_restore('84.2.1') == (
        'setuptools>=77.0.3,<81' if needs else 'setuptools<81')
    old = install_plan.setuptools_to_restore('69.5.1')
    if needs:  # torch 2.13 needs setuptools >= 77: 69.5.1 is not put back
        assert old.startswith('setuptools>=') and old.endswith(',<81')
    else:
        assert old == 'setuptools==69.5.1'


def make_venv(path, system_site_packages):
    venv.EnvBuilder(system_site_packages=system_site_packages, with_pip=False).create(path)
    return path / 'bin' / 'python'


def run_install(python, **env):
    return subprocess.run(
        ['bash', str(REPO_ROOT / 'tools' / 'install.sh')],
        env=dict(os.environ, **dict(dict(PYTHON=str(python), MMVPS_INSTALL_DRY_RUN='1'), **env)),
        capture_output=True, text=True, timeout=300)


def test_install_sh_keeps_the_installed_stack(tmp_path):
    """A venv over the installed stack (--system-site-packages) is the "existing stack" case:
    everything is kept and pinned as a constraint."""
    python = make_venv(tmp_path / 'existing', system_site_packages=True)
    result = run_install(python)
    assert result.returncode == 0, result.stderr + result.stdout
    import mmcv
    import mmdet
    import torch
    assert 'case "existing"' in result.stdout
    assert f'keeping torch {torch.__version__}' in result.stdout
    assert f'torch=={torch.__version__}' in result.stdout
    assert f'mmcv=={mmcv.__version__}' in result.stdout
    assert f'mmdet=={mmdet.__version__}' in result.stdout
    assert 'would install [nothing of the stack]' in result.stdout


def test_install_sh_on_an_empty_environment_installs_the_pinned_stack(tmp_path):
    python = make_venv(tmp_path / 'empty', system_site_packages=False)
    result = run_install(python, TORCH_VERSION='2.13.0')
    assert result.returncode == 0, result.stderr + result.stdout
    assert 'case "fresh"' in result.stdout
    assert ('installing the pinned CPU stack: torch 2.13.0, mmengine 0.10.7, mmcv 2.1.0 (built '
            'from source with ops), mmdet 3.3.0') in result.stdout
    assert 'would install [torch mmengine mmcv mmdet]' in result.stdout


def test_install_sh_stops_on_a_conflict_without_changing_anything(tmp_path):
    """An mmdet 3.2 in the environment: the script names it and exits 1 before any pip call."""
    python = make_venv(tmp_path / 'conflict', system_site_packages=True)
    site = next((tmp_path / 'conflict' / 'lib').glob('python*/site-packages'))
    dist = site / 'mmdet-3.2.0.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: mmdet\nVersion: 3.2.0\n')
    result = run_install(python, MMVPS_INSTALL_DRY_RUN='0')
    assert result.returncode == 1
    assert 'case "conflict"' in result.stdout
    assert 'mmdet 3.2.0 is installed; mmvps needs mmdet >= 3.3, < 3.4' in result.stdout
    assert 'pip' not in result.stderr  # stopped before pip ran


def requirement_lines(name):
    return [
        line.strip() for line in (REPO_ROOT / 'requirements' / name).read_text().splitlines()
        if line.strip() and not line.startswith('#')
    ]


def test_requirements_are_ranges_of_what_mmvps_imports():
    runtime = requirement_lines('runtime.txt')
    assert 'mmdet>=3.3.0,<3.4.0' in runtime and 'mmengine>=0.10.0,<1.0.0' in runtime
    assert 'torch>=2.0' in runtime
    assert 'mmcv>=2.0.0rc4,<2.2.0' in requirement_lines('mminstall.txt')
    assert not any('==' in line for line in runtime)
    # every runtime requirement is imported by mmvps (pillow as PIL)
    sources = '\n'.join(p.read_text() for p in (REPO_ROOT / 'mmvps').rglob('*.py'))
    for line in runtime:
        module = {'pillow': 'PIL'}.get(re.split('[<>=]', line)[0], re.split('[<>=]', line)[0])
        if module == 'tqdm':  # the tools' progress bars
            sources_tools = '\n'.join(p.read_text() for p in (REPO_ROOT / 'tools').rglob('*.py'))
            assert 'from tqdm import' in sources_tools
            continue
        assert re.search(rf'^\s*(import|from) {module}\b', sources, re.M), module
    assert set(requirement_lines('analysis.txt')) == {'psutil', 'seaborn'}
    assert requirement_lines('numpy1.txt') == ['numpy<2']


def test_license_is_apache_2_as_the_readme_says():
    text = (REPO_ROOT / 'LICENSE').read_text()
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text
    assert 'Apache License 2.0' in (REPO_ROOT / 'README.md').read_text()


def test_mim_links_reach_configs_and_tools():
    mim = REPO_ROOT / 'mmvps' / '.mim'
    assert (mim / 'configs' / 'video_knet' / 'video_knet_r18_synthetic.py').is_file()
    assert (mim / 'tools' / 'train.py').is_file()
    assert os.readlink(mim / 'configs') == '../../configs'


@pytest.mark.skipif(sys.platform != 'linux', reason='builds a wheel with pip')
def test_wheel_ships_license_and_configs(tmp_path):
    """The wheel carries LICENSE, the configs and tools under mmvps/.mim (mim layout), and the
    requirement ranges as its metadata."""
    import zipfile
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w',
        str(tmp_path), str(REPO_ROOT)
    ], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob('mmvps-*.whl'))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(next(n for n in names if n.endswith('.dist-info/METADATA'))).decode()
    assert any(n.endswith('.dist-info/licenses/LICENSE') or n.endswith('.dist-info/LICENSE')
               for n in names)
    assert 'mmvps/.mim/configs/video_knet/video_knet_r18_synthetic.py' in names
    assert 'mmvps/.mim/configs/_base_/default_runtime.py' in names
    assert 'mmvps/.mim/tools/train.py' in names
    assert 'Requires-Dist: mmdet<3.4.0,>=3.3.0' in metadata
    assert 'Requires-Dist: torch>=2.0' in metadata
    assert "Provides-Extra: analysis" in metadata


@pytest.mark.skipif(sys.platform != 'linux', reason='builds a wheel with pip')
def test_installed_wheel_resolves_mmvps_base_configs(tmp_path):
    """Installed from its wheel (a venv over the installed stack), ``mmvps::`` base configs
    resolve to the shipped configs once ``mmvps.registry`` is imported (mmvps's tools do it
    first). An editable install cannot serve them: mmengine looks for
    ``<site-packages>/mmvps/.mim`` (docs/faq.md)."""
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w',
        str(tmp_path / 'dist'), str(REPO_ROOT)
    ], check=True, capture_output=True, timeout=300)
    python = make_venv(tmp_path / 'venv', system_site_packages=True)
    wheel = next((tmp_path / 'dist').glob('mmvps-*.whl'))
    subprocess.run([str(python), '-m', 'pip', 'install', '--no-deps', '-q', str(wheel)],
                   check=True, capture_output=True, timeout=300)
    config = tmp_path / 'project' / 'my_config.py'
    config.parent.mkdir()
    config.write_text("_base_ = 'mmvps::video_knet/video_knet_r18_synthetic.py'\n"
                      "train_cfg = dict(max_iters=10)\n")
    out = subprocess.run([
        str(python), '-c', 'import sys; import mmvps.registry, mmvps; '
        'from mmengine.config import Config; cfg = Config.fromfile(sys.argv[1]); '
        'print(cfg.model.type, cfg.train_cfg.max_iters, cfg.default_scope, mmvps.__file__)',
        str(config)
    ], cwd=config.parent, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    model, iters, scope, where = out.stdout.split()
    assert (model, iters, scope) == ('VideoKNet', '10', 'mmvps')
    assert where.startswith(str(tmp_path / 'venv'))  # the wheel's copy, not the checkout

"""Decide what ``tools/install.sh`` may install into the current Python environment.

mmvps needs torch 2.x, mmengine >= 0.10, < 1, mmcv >= 2.0, < 2.2 with compiled ops and mmdet
>= 3.3, < 3.4. Each of them is looked at on its own:

* installed and usable: kept as it is (pip gets it as a constraint, so nothing replaces it);
* missing: installed (torch and mmengine / mmdet at the pinned CPU versions, mmcv built from
  source against the torch that is there);
* installed but unusable (out of range, mmcv without working ops, numpy 2 under torch < 2.3):
  a conflict. The install stops and names it, since replacing it could break other projects in
  the environment; ``MMVPS_REPLACE_STACK=1`` lets the install replace it.

The case reported is ``existing`` (everything kept, only mmvps and its small dependencies are
added), ``partial`` (some kept, the rest installed), ``fresh`` (nothing usable there: the pinned
CPU stack) or ``conflict``.

Run as a script, it prints ``KEY=value`` lines for ``install.sh`` (``--constraints FILE`` also
writes the versions to keep as a pip constraints file). Only the standard library is used, so it
runs in an empty environment.
"""
import argparse
import importlib.metadata as metadata
import os
import re
import shlex
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

PINNED = dict(torch='2.13.0', mmengine='0.10.7', mmcv='2.1.0', mmdet='3.3.0')
# [low, high) of every package of the stack
RANGES = dict(
    torch=((2, 0), (3, 0)),
    mmengine=((0, 10), (1, 0)),
    mmcv=((2, 0), (2, 2)),
    mmdet=((3, 3), (3, 4)),
)
STACK = ('torch', 'mmengine', 'mmcv', 'mmdet')
NUMPY2_MIN_TORCH = (2, 3)  # torch wheels before 2.3 are built against numpy 1
SETUPTOOLS_WITHOUT_PKG_RESOURCES = (81, )  # mmengine imports pkg_resources


def version_tuple(version: str) -> Tuple[int, ...]:
    """Leading numeric release of a version string: ``'2.1.0rc4+cu121'`` -> ``(2, 1, 0)``."""
    match = re.match(r'\d+(\.\d+)*', version)
    if match is None:
        raise ValueError(f'cannot read the version {version!r}')
    return tuple(int(part) for part in match.group(0).split('.'))


def in_range(package: str, version: str) -> bool:
    low, high = RANGES[package]
    return low <= version_tuple(version) < high


def installed_version(package: str) -> Optional[str]:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def mmcv_ops_error(python: str = sys.executable) -> Optional[str]:
    """``None`` when ``import mmcv.ops`` works, else the last line of its error (run in a child
    process: a broken extension may abort the interpreter)."""
    result = subprocess.run([python, '-c', 'import mmcv.ops'], capture_output=True, text=True)
    if result.returncode == 0:
        return None
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else f'exit code {result.returncode}'


def inspect_environment() -> Dict[str, Optional[str]]:
    """Installed versions of the stack and numpy (``None`` when missing), ``mmcv_ops_error``
    and ``torch_cuda`` (torch's CUDA version, ``None`` for a CPU build)."""
    found = {name: installed_version(name) for name in STACK + ('numpy', 'setuptools')}
    if found['mmcv'] is None and installed_version('mmcv-full') is not None:
        found['mmcv'] = installed_version('mmcv-full')  # mmcv 1.x, out of range
    found['mmcv_ops_error'] = mmcv_ops_error() if found['mmcv'] else None
    found['torch_cuda'] = None
    if found['torch']:
        result = subprocess.run([sys.executable, '-c', 'import torch; print(torch.version.cuda)'],
                                capture_output=True, text=True)
        cuda = result.stdout.strip()
        found['torch_cuda'] = cuda if result.returncode == 0 and cuda != 'None' else None
    return found


def plan(found: Dict[str, Optional[str]], replace: bool = False) -> dict:
    """What to keep, install and report for the environment ``found`` (see
    :func:`inspect_environment`). Returns ``case``, ``keep`` (name -> version), ``install``
    (names to install), ``conflicts`` (one message per unusable package) and ``numpy_lt_2``
    (numpy must stay below 2: the torch kept or installed is older than 2.3)."""
    keep, install, conflicts = {}, [], []
    for name in STACK:
        version = found.get(name)
        if version is None:
            install.append(name)
            continue
        low, high = ('.'.join(map(str, bound)) for bound in RANGES[name])
        if not in_range(name, version):
            conflicts.append(f'{name} {version} is installed; mmvps needs {name} >= {low}, < '
                             f'{high}')
        elif name == 'mmcv' and found.get('mmcv_ops_error'):
            conflicts.append(f'mmcv {version} is installed but its compiled ops do not load '
                             f'(`import mmcv.ops`: {found["mmcv_ops_error"]}); mmvps needs mmcv '
                             'with ops built for the installed torch')
        else:
            keep[name] = version
    # the torch in use after the install: the one kept, else the pinned one
    torch_version = keep.get('torch', PINNED['torch'])
    numpy_lt_2 = version_tuple(torch_version) < NUMPY2_MIN_TORCH
    if numpy_lt_2 and found.get('numpy') and version_tuple(found['numpy']) >= (2, ):
        conflicts.append(f'numpy {found["numpy"]} is installed with torch {torch_version}, whose '
                         'wheels are built against numpy 1 (torch >= 2.3 supports numpy 2); '
                         'mmvps needs numpy < 2 here')
    if conflicts and not replace:
        case = 'conflict'
    elif not keep:
        case = 'fresh'
    elif not install and not conflicts:
        case = 'existing'
    else:
        case = 'partial'
    if conflicts and replace:  # replaced by the pinned versions
        install += [name for name in STACK if name not in keep and name not in install]
    return dict(case=case, keep=keep, install=[n for n in STACK if n in install],
                conflicts=conflicts, numpy_lt_2=numpy_lt_2)


def constraints(result: dict) -> List[str]:
    """pip constraint lines that stop pip from replacing what is kept."""
    lines = [f'{name}=={version}' for name, version in result['keep'].items()]
    if result['numpy_lt_2']:
        lines.append('numpy<2')
    return lines


def describe(result: dict, found: dict) -> str:
    """The one-paragraph report ``install.sh`` prints."""
    kept = ', '.join(f'{n} {v}' for n, v in result['keep'].items())
    todo = ', '.join(
        f'{n} {PINNED[n]}' + (' (built from source with ops)' if n == 'mmcv' else '')
        for n in result['install'])
    torch_note = ''
    if found.get('torch_cuda'):
        torch_note = f' (torch with CUDA {found["torch_cuda"]})'
    if result['case'] == 'existing':
        note = ''
        setuptools = found.get('setuptools')
        if setuptools and version_tuple(setuptools) >= SETUPTOOLS_WITHOUT_PKG_RESOURCES:
            note = (f'\nnote: setuptools {setuptools} has no pkg_resources, which mmengine '
                    'imports to resolve `mmdet::` / `mmvps::` base configs; left as it is '
                    '(`pip install "setuptools<81"` restores it)')
        return (f'case "existing": a working stack is installed{torch_note}; keeping {kept} and '
                'adding only mmvps and its missing small dependencies' + note)
    if result['case'] == 'fresh':
        return f'case "fresh": no usable stack found; installing the pinned CPU stack: {todo}'
    if result['case'] == 'partial':
        return f'case "partial": keeping {kept}{torch_note}; installing {todo}'
    return ('case "conflict": installed packages that mmvps cannot use:\n  ' +
            '\n  '.join(result['conflicts']) +
            '\nNothing was changed. Use a fresh virtual environment (python -m venv), fix these '
            'packages, or rerun with MMVPS_REPLACE_STACK=1 to let tools/install.sh replace them '
            '(this may break other projects that use them).')


def setuptools_to_restore(before: Optional[str]) -> str:
    """pip requirement that puts setuptools back after the stack is installed (the mmcv build
    needs setuptools < 70, a torch install may pull the newest): the version there before when
    it satisfies torch's own requirement and still has the ``pkg_resources`` that mmengine
    imports (< 81), else torch's requirement below 81."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip always carries it
        from pip._vendor.packaging.requirements import Requirement
    specs = [Requirement(r) for r in (metadata.requires('torch') or [])
             if r.startswith('setuptools')]
    specs = [r for r in specs if r.marker is None or r.marker.evaluate()]
    if (before and version_tuple(before) < SETUPTOOLS_WITHOUT_PKG_RESOURCES
            and all(r.specifier.contains(before, prereleases=True) for r in specs)):
        return f'setuptools=={before}'
    spec = ','.join(s for s in (str(r.specifier) for r in specs) if s)
    return f'setuptools{spec},<81' if spec else 'setuptools<81'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--constraints', help='write the pip constraints of the kept packages')
    parser.add_argument(
        '--torch-version', default=PINNED['torch'], help='torch version to install when missing')
    parser.add_argument(
        '--setuptools-after-build', metavar='VERSION_BEFORE', nargs='?', const='',
        help='only print the setuptools requirement to restore after installing the stack')
    args = parser.parse_args(argv)
    if args.setuptools_after_build is not None:
        print(setuptools_to_restore(args.setuptools_after_build or None))
        return 0
    PINNED['torch'] = args.torch_version
    found = inspect_environment()
    result = plan(found, replace=os.environ.get('MMVPS_REPLACE_STACK', '0') == '1')
    if args.constraints:
        with open(args.constraints, 'w', encoding='utf-8') as f:
            f.write(''.join(line + '\n' for line in constraints(result)))
    values = dict(
        CASE=result['case'],
        INSTALL=' '.join(result['install']),
        NUMPY_LT_2=int(result['numpy_lt_2']),
        TORCH_CUDA=found.get('torch_cuda') or '',
        TORCH_KEPT=result['keep'].get('torch', ''),
        MESSAGE=describe(result, found))
    for key, value in values.items():
        print(f'{key}={shlex.quote(str(value))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

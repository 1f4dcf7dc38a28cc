import os
import os.path as osp

from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def version():
    scope = {}
    with open('mmvps/version.py', encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def requirements(path):
    """Requirement lines of a requirements file (comments and blank lines left out)."""
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


def mim_files():
    """Files shipped as package data under ``mmvps/.mim`` (links to ``configs/``, ``tools/`` and
    ``model-index.yml``, OpenMMLab's layout): mmengine resolves ``mmvps::<path>`` base configs
    there and ``mim train mmvps ...`` finds the tools."""
    here = osp.dirname(osp.abspath(__file__))
    files = ['.mim/model-index.yml']
    for folder in ('configs', 'tools'):
        for root, dirs, names in os.walk(osp.join(here, folder)):
            dirs[:] = [d for d in dirs if d != '__pycache__']
            files += [
                osp.join('.mim', osp.relpath(root, here), name) for name in names
                if name.endswith(('.py', '.md', '.sh'))
            ]
    return sorted(files)


setup(
    name='mmvps',
    version=version(),
    description='Video panoptic segmentation toolbox on OpenMMLab (mmengine / mmcv / mmdet 3.x)',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    package_data={'mmvps': mim_files()},
    python_requires='>=3.8',
    install_requires=requirements('requirements/runtime.txt'),
    extras_require={
        'tests': requirements('requirements/tests.txt'),
        'analysis': requirements('requirements/analysis.txt'),
        'mim': requirements('requirements/mminstall.txt'),
    },
    license='Apache License 2.0',
    license_files=['LICENSE'],
    zip_safe=False,
)

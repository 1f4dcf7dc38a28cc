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
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


setup(
    name='mmvps',
    version=version(),
    description='Video panoptic segmentation toolbox on OpenMMLab (mmengine / mmcv / mmdet 3.x)',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    include_package_data=True,
    python_requires='>=3.8',
    install_requires=requirements('requirements/runtime.txt'),
    extras_require={
        'tests': requirements('requirements/tests.txt'),
        'mim': requirements('requirements/mminstall.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)

"""Lazy package exports (PEP 562).

The packages on the offline scorer's path (:mod:`mmvps`, :mod:`mmvps.datasets`,
:mod:`mmvps.evaluation`) import nothing heavy themselves: ``import mmvps.evaluation.functional``
or ``mmvps.datasets.formats`` stays numpy + PIL, without torch / mmdet. Their public names are
imported on first access instead; mmengine finds the registering modules through the registry
``locations`` (:mod:`mmvps.registry`).
"""
import importlib


def lazy_exports(package: str, modules: dict):
    """``(__getattr__, __dir__, __all__)`` for ``package``: ``modules`` maps a submodule name to
    the names it exports; accessing one imports that submodule."""
    owner = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name):
        if name not in owner:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        return getattr(importlib.import_module(f'{package}.{owner[name]}'), name)

    def __dir__():
        return sorted(owner)

    return __getattr__, __dir__, sorted(owner)

"""Scope set-up so that configs with ``default_scope='mmvps'`` find every mmvps module."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmvps module that registers something (the ``locations`` of the mmvps
    registries) and mmdet's, and optionally make ``mmvps`` the default scope."""
    import mmdet.utils
    from mmengine.registry import Registry

    from mmvps import registry
    mmdet.utils.register_all_modules(init_default_scope=False)
    for node in vars(registry).values():
        if isinstance(node, Registry):
            node.import_from_location()

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('mmvps', scope_name='mmvps')
    elif current.scope_name != 'mmvps':
        warnings.warn(f'The current default scope "{current.scope_name}" is not "mmvps"; '
                      'a new default scope "mmvps" is made for this call.')
        new_name = f'mmvps-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_name, scope_name='mmvps')

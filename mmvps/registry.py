"""mmvps registries: children of mmdet's, so ``default_scope='mmvps'`` still finds every mmdet /
mmengine module by parent lookup, and another project can say ``type='mmvps.X'``.

``locations`` lets mmengine import the modules that register into a node the first time the
node is searched, so configs work without importing mmvps by hand. Each node lists mmdet's
location first: mmengine's lookup walks up to the parent's *registered* modules without
importing the parent's locations, so ``default_scope='mmvps'`` would otherwise miss mmdet
modules that nothing has imported yet. The ``mmvps.datasets`` and ``mmvps.evaluation`` packages
export lazily, so their nodes list the registering modules themselves;
``tests/test_registry.py`` checks that the locations reach every registered mmvps module.

Every class registered here is constructed in the ``mmvps`` scope (:class:`MMVPSRegistry`):
mmengine builds a module's children (``MODELS.build(backbone)`` inside ``KNet.__init__``) in the
registry of the *current default scope*, so without this a ``type='mmvps.VideoKNet'`` built from
another project (default scope ``mmdet``) would look for ``KNet`` in mmdet's registry and fail.

Importing this module also allow-lists the globals of mmengine checkpoints for torch's
``weights_only`` loading, so ``--resume`` and ``load_from`` work in every run that builds
anything in the mmvps scope.
"""
import functools
import inspect

from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import EVALUATOR as MMDET_EVALUATOR
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOG_PROCESSORS as MMDET_LOG_PROCESSORS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMDET_OPTIM_WRAPPER_CONSTRUCTORS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import OPTIMIZERS as MMDET_OPTIMIZERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import RUNNER_CONSTRUCTORS as MMDET_RUNNER_CONSTRUCTORS
from mmdet.registry import RUNNERS as MMDET_RUNNERS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISBACKENDS as MMDET_VISBACKENDS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmdet.registry import \
    WEIGHT_INITIALIZERS as MMDET_WEIGHT_INITIALIZERS
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import DefaultScope
from mmengine.registry import Registry as _Registry

from mmvps.utils.checkpoint_globals import allow_mmengine_checkpoint_globals

allow_mmengine_checkpoint_globals()

SCOPE = 'mmvps'
# mmengine resolves `<package>::<path>` base configs only for the packages it lists; with mmvps
# listed, `mmvps::video_knet/...` reads the configs shipped in mmvps/.mim/configs in every
# process that imported this module before parsing the config (mmvps's tools, mim)
MODULE2PACKAGE.setdefault(SCOPE, 'mmvps')


def constructed_in_scope(init, scope: str = SCOPE):
    """Wrap a class's ``__init__`` so that it runs with ``scope`` as the default scope (the
    children it builds resolve as in that scope: its registry first, then mmdet's, mmengine's;
    a child of another project is named with its scope prefix). Nothing changes when that scope
    is current or none is set."""

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        current = DefaultScope.get_current_instance()
        if current is None or current.scope_name == scope:
            init(self, *args, **kwargs)
            return
        with DefaultScope.overwrite_default_scope(scope):
            init(self, *args, **kwargs)

    __init__.__mmvps_scope__ = scope
    return __init__


class Registry(_Registry):
    """mmengine ``Registry`` whose mmvps classes are constructed in the mmvps scope (see
    :func:`constructed_in_scope`), so ``type='mmvps.X'`` works from any default scope."""

    def _register_module(self, module, module_name=None, force=False) -> None:
        if (inspect.isclass(module) and module.__module__.split('.')[0] == SCOPE
                and getattr(module.__init__, '__mmvps_scope__', None) != SCOPE):
            module.__init__ = constructed_in_scope(module.__init__)
        super()._register_module(module, module_name, force)


RUNNERS = Registry(
    'runner', parent=MMDET_RUNNERS, locations=['mmdet.engine.runner', 'mmvps.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMDET_RUNNER_CONSTRUCTORS,
    locations=['mmdet.engine.runner', 'mmvps.engine'])
LOOPS = Registry('loop', parent=MMDET_LOOPS, locations=['mmdet.engine.runner', 'mmvps.engine'])
HOOKS = Registry('hook', parent=MMDET_HOOKS, locations=['mmdet.engine.hooks', 'mmvps.engine'])

DATASETS = Registry(
    'dataset', parent=MMDET_DATASETS, locations=['mmdet.datasets'] + [
        f'mmvps.datasets.{module}' for module in (
            'cityscapes_sequence_fuse_dataset', 'cityscapes_vps_dataset', 'step_dataset',
            'synthetic', 'synthetic_vss',
            'video_panoptic_dataset',
            'viper_vps_dataset', 'vipseg_dataset', 'vspw_dataset')])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMDET_DATA_SAMPLERS,
    locations=['mmdet.datasets.samplers', 'mmvps.datasets.samplers'])
TRANSFORMS = Registry(
    'transform', parent=MMDET_TRANSFORMS,
    locations=['mmdet.datasets.transforms', 'mmvps.datasets.transforms'])

MODELS = Registry('model', parent=MMDET_MODELS, locations=['mmdet.models', 'mmvps.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMDET_MODEL_WRAPPERS, locations=['mmdet.models', 'mmvps.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMDET_WEIGHT_INITIALIZERS,
    locations=['mmdet.models', 'mmvps.models'])

OPTIMIZERS = Registry(
    'optimizer', parent=MMDET_OPTIMIZERS, locations=['mmdet.engine.optimizers', 'mmvps.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMDET_OPTIM_WRAPPERS,
    locations=['mmdet.engine.optimizers', 'mmvps.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMDET_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['mmdet.engine.optimizers', 'mmvps.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMDET_PARAM_SCHEDULERS,
    locations=['mmdet.engine.schedulers', 'mmvps.engine'])

METRICS = Registry(
    'metric', parent=MMDET_METRICS, locations=['mmdet.evaluation', 'mmvps.evaluation.metrics'])
EVALUATOR = Registry(
    'evaluator', parent=MMDET_EVALUATOR,
    locations=['mmdet.evaluation', 'mmvps.evaluation.metrics'])

TASK_UTILS = Registry(
    'task util', parent=MMDET_TASK_UTILS, locations=['mmdet.models', 'mmvps.models'])

VISUALIZERS = Registry(
    'visualizer', parent=MMDET_VISUALIZERS,
    locations=['mmdet.visualization', 'mmvps.visualization'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMDET_VISBACKENDS,
    locations=['mmdet.visualization', 'mmvps.visualization'])
LOG_PROCESSORS = Registry(
    'log_processor', parent=MMDET_LOG_PROCESSORS, locations=['mmdet.engine', 'mmvps.engine'])

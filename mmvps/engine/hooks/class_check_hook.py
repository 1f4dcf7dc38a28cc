"""Stop a run whose model, dataset and checkpoint disagree on the classes, instead of training or
evaluating with silently wrong labels."""
from typing import Optional, Sequence, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn

from mmvps.registry import HOOKS


def model_class_counts(model: nn.Module) -> Optional[Tuple[Optional[int], Optional[int], int]]:
    """``(num_things, num_stuff, num_classes)`` of a model: from its first (outermost) module
    with ``num_thing_classes`` and ``num_stuff_classes`` (K-Net, the detector inside Video
    K-Net), else from the first with ``num_classes`` (things / stuff then ``None``); ``None``
    when no module says."""
    if is_model_wrapper(model):
        model = model.module
    modules = list(model.modules())
    for module in modules:
        things = getattr(module, 'num_thing_classes', None)
        stuff = getattr(module, 'num_stuff_classes', None)
        if isinstance(things, int) and isinstance(stuff, int):
            return things, stuff, things + stuff
    for module in modules:
        num_classes = getattr(module, 'num_classes', None)
        if isinstance(num_classes, int):
            return None, None, num_classes
    return None


def check_model_classes(model: nn.Module, metainfo: dict, what: str) -> None:
    """Raise when the model's class numbers differ from the dataset's ``classes`` /
    ``thing_classes`` / ``stuff_classes`` (``what`` names the dataset in the message)."""
    counts = model_class_counts(model)
    classes = metainfo.get('classes') if metainfo else None
    if counts is None or not classes:
        return
    things, stuff, total = counts
    data_things = len(metainfo.get('thing_classes', ()))
    data_stuff = len(metainfo.get('stuff_classes', ()))
    model_name = type(model.module if is_model_wrapper(model) else model).__name__
    if things is not None and 'thing_classes' in metainfo and (things, stuff) != (data_things,
                                                                               data_stuff):
        raise ValueError(
            f'class mismatch: the model ({model_name}) has {things} thing + {stuff} stuff '
            f'classes, the {what} has {data_things} thing + {data_stuff} stuff classes '
            f'({_short(classes)}); set num_things_classes / num_stuff_classes of the model to '
            "the dataset's or use the dataset the model was configured for")
    if total != len(classes):
        raise ValueError(f'class mismatch: the model ({model_name}) has {total} classes, the '
                         f'{what} has {len(classes)} ({_short(classes)})')


def check_checkpoint_classes(checkpoint_classes: Sequence[str], classes: Sequence[str],
                             checkpoint: str, what: str) -> Optional[str]:
    """Message describing how a checkpoint's class list differs from a dataset's, or ``None``
    when they are equal."""
    checkpoint_classes, classes = tuple(checkpoint_classes), tuple(classes)
    if checkpoint_classes == classes:
        return None
    if len(checkpoint_classes) != len(classes):
        diff = f'{len(checkpoint_classes)} classes vs {len(classes)}'
    else:
        first = next(i for i, (a, b) in enumerate(zip(checkpoint_classes, classes)) if a != b)
        diff = (f'same number ({len(classes)}), but label {first} is '
                f'{checkpoint_classes[first]!r} in the checkpoint and {classes[first]!r} in the '
                f'{what}')
    return (f'class mismatch: checkpoint {checkpoint} was trained on '
            f'{_short(checkpoint_classes)}, the {what} has {_short(classes)} ({diff})')


def _short(classes: Sequence[str], limit: int = 8) -> str:
    names = ', '.join(map(str, classes[:limit]))
    more = f', ... ({len(classes)} in all)' if len(classes) > limit else ''
    return f'[{names}{more}]'


@HOOKS.register_module()
class ClassCheckHook(Hook):
    """Check at the start of training, validation and testing that the model's number of
    classes equals the dataset's, and that a loaded checkpoint was trained on the dataset's
    class list (mmengine stores the training dataset's ``metainfo`` in every checkpoint's
    ``meta['dataset_meta']``).

    A mismatch raises ``ValueError`` naming both sides. Testing, standalone validation and
    resuming need the checkpoint's classes to equal the dataset's; fine-tuning (``load_from``
    in training) only warns, since starting from weights of another dataset is what it is for.
    Checkpoints without ``dataset_meta`` (converted from other codebases) are not checked.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._checkpoint_classes = None
        self._training = False
        self._checked_val = False

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Remember the class list the checkpoint was trained on."""
        dataset_meta = (checkpoint.get('meta') or {}).get('dataset_meta') or {}
        classes = dataset_meta.get('classes')
        self._checkpoint_classes = tuple(classes) if classes else None

    def _checkpoint_name(self, runner) -> str:
        return str(getattr(runner, '_load_from', None) or 'the loaded checkpoint')

    def _check(self, runner, dataloader, mode: str, with_checkpoint: bool = True,
               fine_tuning: bool = False) -> None:
        metainfo = getattr(getattr(dataloader, 'dataset', None), 'metainfo', None)
        if not metainfo or not metainfo.get('classes'):
            return
        what = f'{mode} dataset ({type(dataloader.dataset).__name__})'
        check_model_classes(runner.model, metainfo, what)
        if self._checkpoint_classes is None or not with_checkpoint:
            return
        message = check_checkpoint_classes(self._checkpoint_classes, metainfo['classes'],
                                           self._checkpoint_name(runner), what)
        if message is None:
            return
        if fine_tuning:
            print_log(message + '; fine-tuning from it (load_from) goes on', 'current',
                      level=30)
        else:
            raise ValueError(message)

    def before_train(self, runner) -> None:
        self._training = True
        resumed = bool(getattr(runner, '_resume', False))
        self._check(runner, runner.train_dataloader, 'train', fine_tuning=not resumed)

    def before_val(self, runner) -> None:
        if self._checked_val:
            return
        self._checked_val = True
        # during training the model carries the training dataset's classes, not the checkpoint's
        self._check(runner, runner.val_dataloader, 'val', with_checkpoint=not self._training)

    def before_test(self, runner) -> None:
        self._check(runner, runner.test_dataloader, 'test')

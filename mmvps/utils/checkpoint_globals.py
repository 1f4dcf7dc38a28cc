"""Allow-list of the globals mmengine pickles into its checkpoints, for ``torch.load``'s
``weights_only=True`` default (torch >= 2.6).

mmengine 0.10.7 loads checkpoints (``load_from``, ``Runner.resume``) with a plain ``torch.load``.
Besides tensors and builtin containers, the ``message_hub`` state it saves holds
``HistoryBuffer`` objects (numpy arrays, plus the buffer's statistics methods pickled as
``getattr(HistoryBuffer, 'mean')``) and numpy scalars (the ETA). These are exactly the globals
listed below, found with ``torch.serialization.get_unsafe_globals_in_checkpoint`` on checkpoints
of real runs (tests/engine/test_resume.py checks that list), plus the classes of the numeric
dtypes those arrays and scalars have (torch only rebuilds allow-listed types).
``weights_only`` stays on; any other global still makes ``torch.load`` fail.
"""
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.utils import digit_version

HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')

_multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
# numpy >= 2 pickles these functions as ``numpy._core.multiarray.*``, numpy 1.x as
# ``numpy.core.multiarray.*``: both names, so checkpoints written with either numpy load
NUMPY_MODULES = ('numpy._core.multiarray', 'numpy.core.multiarray')


def history_buffer_statistic(owner, name: str):
    """Stands in for ``builtins.getattr`` while unpickling: only the built-in statistics methods
    of ``HistoryBuffer`` may be looked up, nothing else."""
    if owner is not HistoryBuffer or name not in HISTORY_BUFFER_STATISTICS:
        raise pickle.UnpicklingError(
            f'checkpoint asks for getattr({owner!r}, {name!r}); only HistoryBuffer statistics '
            f'{HISTORY_BUFFER_STATISTICS} are allowed')
    return getattr(HistoryBuffer, name)


# float64: HistoryBuffer values, the ETA, metric values; int64: HistoryBuffer counts
NUMPY_DTYPES = (np.float64, np.int64)

CHECKPOINT_GLOBALS = [
    HistoryBuffer,
    (history_buffer_statistic, 'builtins.getattr'),
    np.ndarray,
    np.dtype,
    *((getattr(_multiarray, name), f'{module}.{name}')
      for module in NUMPY_MODULES for name in ('_reconstruct', 'scalar')),
    *(type(np.dtype(dtype)) for dtype in NUMPY_DTYPES),
]


def allow_mmengine_checkpoint_globals() -> None:
    """Register :data:`CHECKPOINT_GLOBALS` with ``torch.serialization.add_safe_globals``
    (idempotent; done when mmvps is imported). Before torch 2.6 ``torch.load`` does not default
    to ``weights_only`` and there is nothing to allow."""
    if digit_version(torch.__version__) < digit_version('2.6.0'):
        return
    torch.serialization.add_safe_globals(CHECKPOINT_GLOBALS)

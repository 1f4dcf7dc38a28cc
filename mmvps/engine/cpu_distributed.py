"""Distributed training and testing on CPU-only machines (``torchrun ... --launcher pytorch``).

mmengine 0.10.7's pytorch launcher calls ``torch.cuda.set_device`` (absent from CPU-only torch)
and wraps the model with ``device_ids=[LOCAL_RANK]``, which torch's DDP rejects for a CPU module.
``init_cpu_distributed`` creates the gloo process group from torchrun's environment before the
Runner is built (the Runner then skips its own ``init_dist``) and selects
:class:`CPUDistributedDataParallel` as the model wrapper. With CUDA nothing changes.
"""
import datetime
import gc

import torch
from mmengine.config import Config
from mmengine.dist import is_distributed
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel


class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's ``MMDistributedDataParallel`` for a model on CPU: the ``device_ids`` the Runner
    passes are dropped, as torch's DDP requires for CPU modules."""

    def __init__(self, module, device_ids=None, **kwargs):
        super().__init__(module=module, device_ids=None, **kwargs)


def init_cpu_distributed(cfg: Config) -> None:
    """Without CUDA and with ``cfg.launcher == 'pytorch'``: init the gloo process group
    (``env_cfg.dist_cfg`` gives its options; a CUDA backend such as nccl is replaced by gloo)
    and set ``cfg.model_wrapper_cfg`` to :class:`CPUDistributedDataParallel` unless the config
    has its own. Call it before ``Runner.from_cfg``."""
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available() or is_distributed():
        return
    if launcher != 'pytorch':
        raise RuntimeError(f'launcher "{launcher}" needs CUDA; on CPU start the processes with '
                           'torchrun and --launcher pytorch (tools/dist_train.sh)')
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'gloo')
    if backend != 'gloo':
        print_log(f'dist backend "{backend}" needs CUDA, which this torch lacks: using gloo',
                  logger='current')
    if dist_cfg.get('timeout') is not None:
        dist_cfg['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch.distributed.init_process_group(backend='gloo', **dist_cfg)
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='mmvps.engine.CPUDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))


def close_distributed() -> None:
    """Wait for every rank, then free the process group while the interpreter is fully alive.

    Call it after dropping the runner: the runner sits in reference cycles with the DDP wrapper,
    which holds the group, so without the ``gc.collect()`` here the gloo group would be freed
    during interpreter finalization, where its worker threads can abort the process ("terminate
    called without an active exception")."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        gc.collect()
        torch.distributed.destroy_process_group()

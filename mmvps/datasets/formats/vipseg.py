"""VIPSeg raw panoptic masks (``panomasks/<video>/<frame>.png``, 16-bit gray).

A pixel value ``v`` is void for 0 (and the known stray 200, VIPSeg issue #1), stuff with raw id
``v`` for ``v < 125`` and a thing with raw id ``v // 100`` and instance index ``v % 100`` otherwise.
The official category id is ``raw id - 1`` (0..123); instance indices start at 0 on disk and
are shifted to start at 1 here so that 0 keeps meaning stuff/crowd.
"""
import numpy as np

from .io import FormatError, _where, check_cat_inst, check_label_map, read_png, write_png

VIPSEG_NUM_CATEGORIES = 124
VIPSEG_VOID_VALUES = (0, 200)
_THING_MIN = 125
_MAX_INSTANCES = 100


def decode_vipseg_raw(arr, path=None):
    """Decode a raw VIPSeg mask into ``(cat, inst)`` (official ids, -1 void)."""
    v = check_label_map(arr, 2, path)
    is_thing = v >= _THING_MIN
    cat = np.where(is_thing, v // 100, v) - 1
    inst = np.where(is_thing, v % 100 + 1, 0)
    void = np.isin(v, VIPSEG_VOID_VALUES)
    cat[void] = -1
    inst[void] = 0
    bad = (~void) & ((cat < 0) | (cat >= VIPSEG_NUM_CATEGORIES) | (is_thing & (v < 300)))
    if bad.any():
        raise FormatError(f'{_where(path)}: raw values {np.unique(v[bad])[:10].tolist()} '
                          f'name no VIPSeg category (stuff 1..124, things 300..12499, void 0)')
    return cat, inst


def load_vipseg_raw(path):
    """Read and decode ``panomasks/<video>/<frame>.png``."""
    return decode_vipseg_raw(read_png(path, 'gray16'), path)


def write_vipseg_raw(path, cat, inst):
    """Write ``(cat, inst)`` as a raw VIPSeg mask: void 0, ``inst == 0`` as stuff value
    ``cat + 1``, ``inst > 0`` as thing value ``(cat + 1) * 100 + inst - 1``."""
    cat, inst = check_cat_inst(cat, inst, path)
    if cat.max(initial=-1) >= VIPSEG_NUM_CATEGORIES or inst.max(initial=0) > _MAX_INSTANCES:
        raise ValueError(f'{path}: VIPSeg holds categories 0..123 and at most '
                         f'{_MAX_INSTANCES} instances per category')
    raw = np.where(inst > 0, (cat + 1) * 100 + inst - 1, cat + 1)
    raw[cat < 0] = 0
    write_png(path, raw.astype(np.uint16))

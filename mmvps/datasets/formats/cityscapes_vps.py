"""Cityscapes-VPS single-channel maps: ``panoptic_inst`` (16-bit) and ``labelmap`` (8-bit).

``panoptic_inst``: 255 void, ``v < 1000`` a stuff trainId, otherwise thing trainId ``v // 1000``
with object index ``v % 1000`` (which may be 0, so it is shifted by +1 here; crowd is on disk as
255). ``labelmap``: trainId per pixel, 255 void. Value 0 is road, not void.
"""
import numpy as np

from .io import FormatError, _where, check_cat_inst, check_label_map, read_png, write_png

CITYSCAPES_NUM_CATEGORIES = 19
CITYSCAPES_VOID = 255


def _check_categories(cat, path):
    bad = cat >= CITYSCAPES_NUM_CATEGORIES
    if bad.any():
        raise FormatError(f'{_where(path)}: trainIds {np.unique(cat[bad])[:10].tolist()} are no '
                          f'Cityscapes-VPS category (0..{CITYSCAPES_NUM_CATEGORIES - 1}, 255 void)')


def decode_cityscapes_panoptic_inst(arr, path=None):
    """Decode a ``panoptic_inst`` map into ``(cat, inst)`` (trainIds, -1 void)."""
    v = check_label_map(arr, 2, path)
    void = v == CITYSCAPES_VOID
    is_thing = v >= 1000
    cat = np.where(is_thing, v // 1000, v)
    inst = np.where(is_thing, v % 1000 + 1, 0)
    cat[void] = -1
    _check_categories(cat, path)
    return cat, inst


def load_cityscapes_panoptic_inst(path):
    """Read and decode ``<split>/panoptic_inst/<name>.png``."""
    return decode_cityscapes_panoptic_inst(read_png(path, 'gray16'), path)


def write_cityscapes_panoptic_inst(path, cat, inst):
    """Write ``(cat, inst)`` as ``panoptic_inst``: void 255, ``inst == 0`` as trainId,
    ``inst > 0`` as ``trainId * 1000 + inst - 1``."""
    cat, inst = check_cat_inst(cat, inst, path)
    if cat.max(initial=-1) >= CITYSCAPES_NUM_CATEGORIES or inst.max(initial=0) > 1000:
        raise ValueError(f'{path}: Cityscapes-VPS holds trainIds 0..18 and object ids 0..999')
    v = np.where(inst > 0, cat * 1000 + inst - 1, cat)
    v[cat < 0] = CITYSCAPES_VOID
    write_png(path, v.astype(np.uint16))


def decode_cityscapes_labelmap(arr, path=None):
    """Decode a ``labelmap`` (trainId, 255 void) into ``(cat, inst)`` with ``inst`` all 0."""
    cat = check_label_map(arr, 2, path)
    cat[cat == CITYSCAPES_VOID] = -1
    _check_categories(cat, path)
    return cat, np.zeros_like(cat)


def load_cityscapes_labelmap(path):
    """Read and decode ``<split>/labelmap/<name>.png``."""
    return decode_cityscapes_labelmap(read_png(path, 'gray8'), path)


def write_cityscapes_labelmap(path, cat):
    """Write trainIds (-1 void) as a ``labelmap`` PNG."""
    cat, _ = check_cat_inst(cat, np.zeros_like(cat), path)
    if cat.max(initial=-1) >= CITYSCAPES_NUM_CATEGORIES:
        raise ValueError(f'{path}: Cityscapes-VPS trainIds are 0..18')
    write_png(path, np.where(cat < 0, CITYSCAPES_VOID, cat).astype(np.uint8))

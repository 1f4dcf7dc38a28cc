"""VSPW semantic masks (8-bit): ground truth in raw ids, predictions in 0-based ids.

Ground truth ``data/<video>/mask/<frame>.png`` holds 1..124 for the classes, 0 ("others") and
255 void; stray values above 124 are void too. Prediction PNGs (``<video>/<frame>.png``) hold the
0-based class id 0..123 and 255 for ignore.
"""
import numpy as np

from .io import FormatError, _where, check_cat_inst, check_label_map, read_png, write_png

VSPW_NUM_CATEGORIES = 124
VSPW_IGNORE = 255


def decode_vspw(arr, path=None):
    """Decode a raw VSPW ground-truth mask into ``(cat, inst)`` (cat 0..123, -1 void, inst 0)."""
    raw = check_label_map(arr, 2, path)
    cat = raw - 1
    cat[(raw == 0) | (raw > VSPW_NUM_CATEGORIES)] = -1
    return cat, np.zeros_like(cat)


def load_vspw(path):
    """Read and decode ``data/<video>/mask/<frame>.png``."""
    return decode_vspw(read_png(path, 'gray8'), path)


def write_vspw(path, cat):
    """Write official category ids (-1 void) as a raw VSPW ground-truth mask (void -> 255)."""
    cat, _ = check_cat_inst(cat, np.zeros_like(cat), path)
    if cat.max(initial=-1) >= VSPW_NUM_CATEGORIES:
        raise ValueError(f'{path}: VSPW categories are 0..{VSPW_NUM_CATEGORIES - 1}')
    write_png(path, np.where(cat < 0, VSPW_IGNORE, cat + 1).astype(np.uint8))


def decode_vspw_prediction(arr, path=None):
    """Decode a VSPW prediction PNG (0-based ids, 255 ignore) into ``(cat, inst)``."""
    cat = check_label_map(arr, 2, path)
    bad = (cat >= VSPW_NUM_CATEGORIES) & (cat != VSPW_IGNORE)
    if bad.any():
        raise FormatError(f'{_where(path)}: predicted labels {np.unique(cat[bad])[:10].tolist()} '
                          f'are no VSPW category (0..{VSPW_NUM_CATEGORIES - 1}, 255 ignore)')
    cat[cat == VSPW_IGNORE] = -1
    return cat, np.zeros_like(cat)


def load_vspw_prediction(path):
    """Read and decode a prediction ``<video>/<frame>.png``."""
    return decode_vspw_prediction(read_png(path, 'gray8'), path)


def write_vspw_prediction(path, cat):
    """Write official category ids (-1 void) as a VSPW prediction PNG (void -> 255)."""
    cat, _ = check_cat_inst(cat, np.zeros_like(cat), path)
    if cat.max(initial=-1) >= VSPW_NUM_CATEGORIES:
        raise ValueError(f'{path}: VSPW categories are 0..{VSPW_NUM_CATEGORIES - 1}')
    write_png(path, np.where(cat < 0, VSPW_IGNORE, cat).astype(np.uint8))

"""STEP panoptic maps (KITTI-STEP / MOTChallenge-STEP, 3-channel PNG, GT and predictions).

R is the semantic trainId (255 void) and ``G * 256 + B`` the track id (0 = stuff or, on a thing
class, crowd).
"""
import numpy as np

from .io import check_cat_inst, check_label_map, read_png, write_png

STEP_VOID = 255


def decode_step(rgb, path=None):
    """Decode a STEP map into ``(cat, inst)`` (trainIds, -1 void)."""
    rgb = check_label_map(rgb, 3, path)
    cat = rgb[..., 0]
    inst = rgb[..., 1] * 256 + rgb[..., 2]
    void = cat == STEP_VOID
    cat[void] = -1
    inst[void] = 0
    return cat, inst


def load_step(path):
    """Read and decode ``panoptic_maps/<split>/<seq>/<frame>.png`` or a prediction PNG."""
    return decode_step(read_png(path, 'rgb'), path)


def write_step(path, cat, inst):
    """Write ``(cat, inst)`` as a STEP map (void -> R 255, track id in G/B)."""
    cat, inst = check_cat_inst(cat, inst, path)
    if cat.max(initial=-1) >= STEP_VOID or inst.max(initial=0) >= 1 << 16:
        raise ValueError(f'{path}: STEP holds trainIds 0..254 and track ids below 65536')
    rgb = np.stack([np.where(cat < 0, STEP_VOID, cat), inst >> 8, inst & 255], axis=-1)
    rgb[cat < 0, 1:] = 0
    write_png(path, rgb.astype(np.uint8))

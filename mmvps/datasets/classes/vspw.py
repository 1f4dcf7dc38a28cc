"""VSPW categories: the 124 VIPSeg class names (raw mask value = id + 1), semantic only, so no
class is a thing. Colors are VIPSeg's."""
from .vipseg import CATEGORIES as VIPSEG_CATEGORIES

CATEGORIES = tuple(dict(category, isthing=0) for category in VIPSEG_CATEGORIES)

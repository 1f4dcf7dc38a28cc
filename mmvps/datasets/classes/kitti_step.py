"""KITTI-STEP categories: the 19 Cityscapes trainIds; only person (11) and car (13) carry track
ids, so only they are thing classes (deeplab2 ``class_has_instances_list=(11, 13)``)."""
from .cityscapes_vps import CATEGORIES as CITYSCAPES_CATEGORIES

TRACKED_IDS = (11, 13)
CATEGORIES = tuple(
    dict(category, isthing=int(category['id'] in TRACKED_IDS))
    for category in CITYSCAPES_CATEGORIES)

"""Cityscapes-VPS categories (VPSNet ``city_default.CATEGORIES``): id = Cityscapes trainId 0..18.

Upstream spells class 8 'vegitation'; the Cityscapes name 'vegetation' is used here.
"""
CATEGORIES = (
    dict(id=0, name='road', isthing=0, color=(128, 64, 128)),
    dict(id=1, name='sidewalk', isthing=0, color=(244, 35, 232)),
    dict(id=2, name='building', isthing=0, color=(70, 70, 70)),
    dict(id=3, name='wall', isthing=0, color=(102, 102, 156)),
    dict(id=4, name='fence', isthing=0, color=(190, 153, 153)),
    dict(id=5, name='pole', isthing=0, color=(153, 153, 153)),
    dict(id=6, name='traffic light', isthing=0, color=(250, 170, 30)),
    dict(id=7, name='traffic sign', isthing=0, color=(220, 220, 0)),
    dict(id=8, name='vegetation', isthing=0, color=(107, 142, 35)),
    dict(id=9, name='terrain', isthing=0, color=(152, 251, 152)),
    dict(id=10, name='sky', isthing=0, color=(70, 130, 180)),
    dict(id=11, name='person', isthing=1, color=(220, 20, 60)),
    dict(id=12, name='rider', isthing=1, color=(255, 0, 0)),
    dict(id=13, name='car', isthing=1, color=(0, 0, 142)),
    dict(id=14, name='truck', isthing=1, color=(0, 0, 70)),
    dict(id=15, name='bus', isthing=1, color=(0, 60, 100)),
    dict(id=16, name='train', isthing=1, color=(0, 80, 100)),
    dict(id=17, name='motorcycle', isthing=1, color=(0, 0, 230)),
    dict(id=18, name='bicycle', isthing=1, color=(119, 11, 32)),
)

# Cityscapes labelId of each trainId 0..18 (cityscapesScripts labels.py): the category ids of
# the official Cityscapes panoptic files (csCreatePanopticImgs).
TRAIN_ID_TO_LABEL_ID = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)
# The same 19 classes with their labelIds as ids (the same label order, things first).
CITYSCAPES_PANOPTIC_CATEGORIES = tuple(
    dict(c, id=TRAIN_ID_TO_LABEL_ID[c['id']]) for c in CATEGORIES)

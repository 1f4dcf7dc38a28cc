"""MOTChallenge-STEP categories (deeplab2): 7 classes, only person (4) is tracked.

Colors are the Cityscapes colors of the same classes.
"""
CATEGORIES = (
    dict(id=0, name='sidewalk', isthing=0, color=(244, 35, 232)),
    dict(id=1, name='building', isthing=0, color=(70, 70, 70)),
    dict(id=2, name='vegetation', isthing=0, color=(107, 142, 35)),
    dict(id=3, name='sky', isthing=0, color=(70, 130, 180)),
    dict(id=4, name='person', isthing=1, color=(220, 20, 60)),
    dict(id=5, name='rider', isthing=0, color=(255, 0, 0)),
    dict(id=6, name='bicycle', isthing=0, color=(119, 11, 32)),
)

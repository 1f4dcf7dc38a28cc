"""VIPER-VPS categories (23 classes, 10 things).

The VIPER-VPS category file was never released: this list is inferred from VPSNet's VIPER palette
order matched to VIPER's ``classes.csv``. Class 11 (mobilebarrier) is left out of VPSNet's PQ
average.
"""
CATEGORIES = (
    dict(id=0, name='sky', isthing=0, color=(70, 130, 180)),
    dict(id=1, name='road', isthing=0, color=(128, 64, 128)),
    dict(id=2, name='sidewalk', isthing=0, color=(244, 35, 232)),
    dict(id=3, name='terrain', isthing=0, color=(152, 251, 152)),
    dict(id=4, name='tree', isthing=0, color=(87, 182, 35)),
    dict(id=5, name='vegetation', isthing=0, color=(35, 142, 35)),
    dict(id=6, name='building', isthing=0, color=(70, 70, 70)),
    dict(id=7, name='infrastructure', isthing=0, color=(153, 153, 153)),
    dict(id=8, name='fence', isthing=0, color=(190, 153, 153)),
    dict(id=9, name='billboard', isthing=0, color=(150, 20, 20)),
    dict(id=10, name='trafficsign', isthing=0, color=(220, 220, 0)),
    dict(id=11, name='mobilebarrier', isthing=0, color=(180, 180, 100)),
    dict(id=12, name='trash', isthing=0, color=(81, 0, 21)),
    dict(id=13, name='trafficlight', isthing=1, color=(250, 170, 30)),
    dict(id=14, name='firehydrant', isthing=1, color=(173, 153, 153)),
    dict(id=15, name='chair', isthing=1, color=(168, 153, 153)),
    dict(id=16, name='trashcan', isthing=1, color=(81, 0, 81)),
    dict(id=17, name='person', isthing=1, color=(220, 20, 60)),
    dict(id=18, name='motorcycle', isthing=1, color=(0, 0, 230)),
    dict(id=19, name='car', isthing=1, color=(0, 0, 142)),
    dict(id=20, name='van', isthing=1, color=(0, 80, 100)),
    dict(id=21, name='bus', isthing=1, color=(0, 60, 100)),
    dict(id=22, name='truck', isthing=1, color=(0, 0, 70)),
)

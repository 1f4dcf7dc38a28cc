"""The one panoptic convention of mmvps (shared by datasets, models, metrics and exporters).

A frame's panoptic map is an integer array ``pan = sem + inst * INSTANCE_OFFSET`` (mmdet's
convention, ``INSTANCE_OFFSET = 1000``) where

* ``sem`` is the *training label* (``0..C-1``, thing classes first, then stuff, as in mmdet's
  COCO panoptic). Any ``sem >= C`` is void: ground truth uses ``IGNORE_INDEX`` (255), models
  may use ``C`` (mmdet's panoptic heads do); both mean "no segment".
* ``inst`` is the track id. Ground truth: a thing pixel with ``inst > 0`` belongs to track
  ``(sem, inst)``, the same object in every frame of the video; a thing pixel with ``inst == 0``
  is **crowd**. Predictions: a thing pixel with ``inst == 0`` is an ordinary segment. Stuff
  pixels carry ``inst == 0`` (an instance value on stuff is ignored).
"""
import numpy as np

INSTANCE_OFFSET = 1000  # == mmdet.evaluation.functional.INSTANCE_OFFSET (checked in tests)
IGNORE_INDEX = 255


def encode_panoptic(sem: np.ndarray, inst: np.ndarray) -> np.ndarray:
    """Combine semantic labels and track ids into one int64 panoptic map."""
    sem = np.asarray(sem, dtype=np.int64)
    inst = np.asarray(inst, dtype=np.int64)
    if sem.shape != inst.shape:
        raise ValueError(f'semantic {sem.shape} and instance {inst.shape} maps differ in shape')
    if (sem < 0).any() or (inst < 0).any():
        raise ValueError('panoptic maps hold non-negative labels and instance ids only')
    return sem + inst * INSTANCE_OFFSET


def decode_panoptic(pan: np.ndarray, num_classes: int, void: int = IGNORE_INDEX):
    """Split a panoptic map into ``(sem, inst)``; every ``sem >= num_classes`` becomes ``void``
    with instance 0."""
    pan = np.asarray(pan, dtype=np.int64)
    sem = pan % INSTANCE_OFFSET
    inst = pan // INSTANCE_OFFSET
    is_void = sem >= num_classes
    sem[is_void] = void
    inst[is_void] = 0
    return sem, inst

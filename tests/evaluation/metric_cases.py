"""Loader of the metric fixture cases (``shared/data/metric_fixtures``) for the metric tests.

``load_case(name)`` gives the inputs, ``expected(name)`` the official numbers (``expected.json``)
and ``reference(name)`` everything the reference tools produced (``reference_outputs.json``).
"""
import json
from functools import lru_cache

import numpy as np
from conftest import METRIC_FIXTURES


@lru_cache()
def case_names():
    """Every case, in the order of ``index.json``."""
    index = json.loads((METRIC_FIXTURES / 'index.json').read_text())
    return tuple(case['case'] for case in index['cases'])


@lru_cache()
def load_case(name):
    """``(categories, void, videos)`` of a case; ``videos`` maps each video name (in evaluation
    order) to ``(gt_sem, gt_inst, pred_sem, pred_inst)``, int32 arrays of shape (T, H, W)."""
    path = METRIC_FIXTURES / name / 'input.npz'
    if not path.is_file():
        raise FileNotFoundError(f'{path}: metric fixture input not found')
    with np.load(path) as z:
        categories = json.loads(str(z['categories_json']))
        void = int(z['void'])
        videos = {}
        for video in (str(v) for v in z['video_names']):
            videos[video] = tuple(z[f'{video}__{key}']
                                  for key in ('gt_sem', 'gt_inst', 'pred_sem', 'pred_inst'))
    return categories, void, videos


@lru_cache()
def expected(name):
    """The case's ``expected.json`` (``metrics``, ``not_available``, ``derived``, ...)."""
    return json.loads((METRIC_FIXTURES / name / 'expected.json').read_text())


@lru_cache()
def reference(name):
    """The case's ``reference_outputs.json``."""
    return json.loads((METRIC_FIXTURES / name / 'reference_outputs.json').read_text())


def frames(videos):
    """``(video name, gt_sem, gt_inst, pred_sem, pred_inst)`` per frame, videos in order."""
    for video, maps in videos.items():
        for t in range(len(maps[0])):
            yield (video, ) + tuple(m[t] for m in maps)

"""Shared test helpers: where the reference material lives, and mmvps registration."""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# CI clones the repository with shared/ beside it; MMVPS_SHARED overrides that location.
SHARED_DIR = Path(os.environ.get('MMVPS_SHARED', REPO_ROOT.parent / 'shared'))
METRIC_FIXTURES = SHARED_DIR / 'data' / 'metric_fixtures'
CLASSES_DIR = SHARED_DIR / 'data' / 'classes'


@pytest.fixture(scope='session')
def shared_dir():
    if not SHARED_DIR.is_dir():
        pytest.fail(f'reference material not found at {SHARED_DIR} (set MMVPS_SHARED)')
    return SHARED_DIR

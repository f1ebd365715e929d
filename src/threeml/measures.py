"""Moved to :mod:`threeml.metrics.measures`; kept so old imports work."""

import sys

import threeml.metrics.measures as _moved

sys.modules[__name__] = _moved

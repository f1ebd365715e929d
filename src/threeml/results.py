"""Moved to :mod:`threeml.engine.results`; kept so old imports work."""

import sys

import threeml.engine.results as _moved

sys.modules[__name__] = _moved

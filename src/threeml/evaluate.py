"""Moved to :mod:`threeml.engine.evaluate`; kept so old imports work."""

import sys

import threeml.engine.evaluate as _moved

sys.modules[__name__] = _moved

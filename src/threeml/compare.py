"""Moved to :mod:`threeml.engine.compare`; kept so old imports work."""

import sys

import threeml.engine.compare as _moved

sys.modules[__name__] = _moved

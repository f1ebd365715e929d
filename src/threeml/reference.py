"""Moved to :mod:`threeml.engine.reference`; kept so old imports work."""

import sys

import threeml.engine.reference as _moved

sys.modules[__name__] = _moved

"""Moved to :mod:`threeml.data.demo`; kept so old imports work."""

import sys

import threeml.data.demo as _moved

sys.modules[__name__] = _moved

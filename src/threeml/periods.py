"""Moved to :mod:`threeml.records.periods`; kept so old imports work."""

import sys

import threeml.records.periods as _moved

sys.modules[__name__] = _moved

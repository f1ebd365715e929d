"""Moved to :mod:`threeml.records.codes`; kept so old imports work."""

import sys

import threeml.records.codes as _moved

sys.modules[__name__] = _moved

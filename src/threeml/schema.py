"""Moved to :mod:`threeml.records.schema`; kept so old imports work."""

import sys

import threeml.records.schema as _moved

sys.modules[__name__] = _moved

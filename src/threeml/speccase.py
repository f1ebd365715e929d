"""Moved to :mod:`threeml.definitions.speccase`; kept so old imports work."""

import sys

import threeml.definitions.speccase as _moved

sys.modules[__name__] = _moved

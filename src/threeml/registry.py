"""Moved to :mod:`threeml.plugins.registry`; kept so old imports work."""

import sys

import threeml.plugins.registry as _moved

sys.modules[__name__] = _moved

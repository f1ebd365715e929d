"""Moved to :mod:`threeml.plugins.hookspecs`; kept so old imports work."""

import sys

import threeml.plugins.hookspecs as _moved

sys.modules[__name__] = _moved

"""Moved to :mod:`threeml.engine.explain`; kept so old imports work."""

import sys

import threeml.engine.explain as _moved

sys.modules[__name__] = _moved

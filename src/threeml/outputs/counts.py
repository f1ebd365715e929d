"""Moved to :mod:`threeml.publish.counts`; kept so old imports work."""

import sys

import threeml.publish.counts as _moved

sys.modules[__name__] = _moved

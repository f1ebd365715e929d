"""Moved to :mod:`threeml.publish.disclosure`; kept so old imports work."""

import sys

import threeml.publish.disclosure as _moved

sys.modules[__name__] = _moved

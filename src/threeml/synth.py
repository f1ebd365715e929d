"""Moved to :mod:`threeml.data.synth`; kept so old imports work."""

import sys

import threeml.data.synth as _moved

sys.modules[__name__] = _moved

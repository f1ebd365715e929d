"""Moved to :mod:`threeml.docs.sphinxext`; kept so old imports work."""

import sys

import threeml.docs.sphinxext as _moved

sys.modules[__name__] = _moved

"""The Hypothesis strategies threeml's own tests use: those of :mod:`threeml.testing.strategies`.

They live in the package, where plugin authors can use them too; this module keeps
``import strategies`` working for the tests in this folder.
"""

from __future__ import annotations

from threeml.testing.strategies import *  # noqa: F403
from threeml.testing.strategies import __all__  # noqa: F401

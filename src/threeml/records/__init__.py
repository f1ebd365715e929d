"""Layer 1, the records: one frozen class per table row, the codes they use, periods and the schema.

Everything below this package derives from it: validation, the Arrow schemas, synthetic data and the
docs' column reference all read the record classes (:mod:`threeml.records.rows`) through
:mod:`threeml.records.schema`. This package imports nothing of threeml but :mod:`threeml.errors`.

The record classes and column helpers are importable from here (``from threeml.records import
User``) as they were before the records became a package.
"""

from threeml.records.rows import *  # noqa: F403
from threeml.records.rows import __all__  # noqa: F401

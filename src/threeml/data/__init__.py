"""Data access: loading extracts into the engine and validating them on the way in.

- :class:`Dataset` holds the validated tables of one extract; it is built from a folder of
  CSV/Parquet files, Arrow tables, records, a DuckDB file or an ibis connection;
- :func:`open_dataset` opens whatever ``--data`` names with the first
  :class:`~threeml.data.loaders.Loader` that accepts it, and :func:`validate_extract`
  gives its :class:`ValidationReport`.

The names below are imported on first use (PEP 562), so that importing a light module of this
package, such as :mod:`threeml.data.loaders`, does not start the engine (ibis, DuckDB).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threeml.data.arrow import records_to_arrow
    from threeml.data.dataset import Dataset, validate_folder
    from threeml.data.loaders import Loader, NoLoader, open_dataset, validate_extract
    from threeml.data.report import (
        InvalidDataset,
        Mode,
        Problem,
        ProblemKind,
        Severity,
        TooManySetAside,
        ValidationReport,
        report_to_dict,
    )

#: Where each public name of the package lives.
_HOMES = {
    "Dataset": "threeml.data.dataset",
    "validate_folder": "threeml.data.dataset",
    "records_to_arrow": "threeml.data.arrow",
    "Loader": "threeml.data.loaders",
    "NoLoader": "threeml.data.loaders",
    "open_dataset": "threeml.data.loaders",
    "validate_extract": "threeml.data.loaders",
    "InvalidDataset": "threeml.data.report",
    "Mode": "threeml.data.report",
    "Problem": "threeml.data.report",
    "ProblemKind": "threeml.data.report",
    "Severity": "threeml.data.report",
    "TooManySetAside": "threeml.data.report",
    "ValidationReport": "threeml.data.report",
    "report_to_dict": "threeml.data.report",
}

__all__ = [
    "Dataset",
    "InvalidDataset",
    "Loader",
    "Mode",
    "NoLoader",
    "Problem",
    "ProblemKind",
    "Severity",
    "TooManySetAside",
    "ValidationReport",
    "open_dataset",
    "records_to_arrow",
    "report_to_dict",
    "validate_extract",
    "validate_folder",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'threeml.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})

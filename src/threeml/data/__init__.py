"""Data access: loading extracts into the engine and validating them on the way in.

- :class:`Dataset` holds the validated tables of one extract; it is built from a folder of
  CSV/Parquet files, Arrow tables, records, a DuckDB file or an ibis connection;
- :func:`open_dataset` opens whatever ``--data`` names with the first
  :class:`~threeml.data.loaders.Loader` that accepts it, and :func:`validate_extract`
  gives its :class:`ValidationReport`.

Names are imported on first use, so that reading :mod:`threeml.data.loaders` (as the
registry does to list loaders) loads no engine.
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
        ValidationReport,
        report_to_dict,
    )

__all__ = [
    "Dataset",
    "InvalidDataset",
    "Loader",
    "Mode",
    "NoLoader",
    "Problem",
    "ProblemKind",
    "Severity",
    "ValidationReport",
    "open_dataset",
    "records_to_arrow",
    "report_to_dict",
    "validate_extract",
    "validate_folder",
]

_WHERE = {
    "Dataset": "dataset",
    "validate_folder": "dataset",
    "records_to_arrow": "arrow",
    "Loader": "loaders",
    "NoLoader": "loaders",
    "open_dataset": "loaders",
    "validate_extract": "loaders",
    "InvalidDataset": "report",
    "Mode": "report",
    "Problem": "report",
    "ProblemKind": "report",
    "Severity": "report",
    "ValidationReport": "report",
    "report_to_dict": "report",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'threeml.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"threeml.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

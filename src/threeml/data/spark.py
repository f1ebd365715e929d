"""Spark: an extract's tables, from a session's catalog or from Parquet paths, as temporary views.

:func:`spark_views` gives each threeml table a temporary view in ``session`` (named
``threeml_<table>``), reading a Parquet path (anything containing ``/`` or ending in
``.parquet``) or a catalog table (``catalog.schema.table``, or a plain name), and returns the
``names`` mapping for :meth:`Dataset.from_connection <threeml.data.Dataset.from_connection>`.
Nothing is imported from pyspark here except by :func:`local_session`, which starts a local
session for tests and benchmarks: ``session`` is otherwise the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threeml.errors import DataError
from threeml.records.schema import TABLES

__all__ = ["VIEW_PREFIX", "local_session", "spark_views"]

#: The temporary views are named ``threeml_users``, ``threeml_services`` …
VIEW_PREFIX = "threeml_"


def _is_path(source: str) -> bool:
    return "/" in source or source.endswith(".parquet")


def spark_views(session: Any, tables: Mapping[str, str]) -> dict[str, str]:
    """Register ``tables`` (threeml name -> catalog name or Parquet path) as temporary views.

    Returns threeml's names mapped to the views'. An unknown threeml name is refused with the
    names there are.
    """
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise DataError(
            f"from_spark: {', '.join(unknown)} is not a threeml table; the tables are "
            f"{', '.join(TABLES)}"
        )
    names: dict[str, str] = {}
    for name, source in tables.items():
        frame = session.read.parquet(source) if _is_path(source) else session.table(source)
        view = f"{VIEW_PREFIX}{name}"
        frame.createOrReplaceTempView(view)
        names[name] = view
    return names


def local_session(
    app: str, *, cores: int = 2, memory: str = "1g", shuffle_partitions: int | None = None
) -> Any:
    """A local Spark session (``local[cores]``, no UI, UTC).

    ``shuffle_partitions`` (default: ``cores``) replaces Spark's default of 200, which on one
    machine spends more time scheduling near-empty tasks than working; a cluster wants a few
    per executor core (see the larger-engine explanation).
    """
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions or cores))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", memory)
        .getOrCreate()
    )

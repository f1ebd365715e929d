"""The output formats: one table read by ``count``, ``compare``, ``metric`` and ``report``.

:data:`FORMATS` maps each format's name to an :class:`OutputFormat`: what
``--format`` calls it, what it is, the file the report writes it to, and its
writer. A writer is a :func:`functools.singledispatch` function
``write(document, stream)`` with one implementation per kind of published
document it can write; a format offers itself for a document exactly when it
has one (:func:`formats_for`), so each command's ``--format`` choices come from
this table. The command documents (:class:`~threeml.publish.counts.PublishedCount`,
:class:`~threeml.publish.metrics.PublishedMetric`,
:class:`~threeml.publish.compare.PublishedComparison`,
:class:`~threeml.publish.compare.PublishedDiff`) are written here; the report
registers its own document (:mod:`threeml.report.files`).

A new format is one entry in :data:`FORMATS` and one writer function (for
documents that share a shape, such as ``data()`` or ``rows()``, one function
registered for all of them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import singledispatch
from typing import IO, Any

from attrs import frozen
from rich.console import Console

from threeml.errors import ThreemlError
from threeml.publish.audited import audited
from threeml.publish.compare import PublishedComparison, PublishedDiff
from threeml.publish.counts import PublishedCount
from threeml.publish.metrics import PublishedMetric
from threeml.publish.safe import csv_writer
from threeml.publish.series import PublishedSeries
from threeml.publish.terminal import show

__all__ = [
    "FORMATS",
    "OutputFormat",
    "UnsupportedFormat",
    "formats_for",
    "write",
    "write_csv",
    "write_fhir",
    "write_html",
    "write_json",
    "write_membership",
    "write_parquet",
    "write_table",
]

#: What a command prints: the documents the command line's ``table``, ``json`` and ``csv`` write.
CommandDocument = PublishedCount | PublishedMetric | PublishedComparison | PublishedDiff


class UnsupportedFormat(ThreemlError):
    """A format asked of a document it cannot write (``html`` for a single count, say)."""

    def __init__(self, name: str, document: type) -> None:
        known = ", ".join(formats_for(document)) or "none"
        super().__init__(
            f"the {name!r} output format cannot write a {document.__name__}; "
            f"formats that can: {known}"
        )


def _writer(name: str) -> Callable[[Any, IO], None]:
    """A writer with no implementation yet: it refuses every document until one is registered."""

    def unsupported(document: Any, stream: IO) -> None:
        raise UnsupportedFormat(name, type(document))

    unsupported.__name__ = unsupported.__qualname__ = f"write_{name}"
    unsupported.__doc__ = f"Write a published document in the {name!r} format to ``stream``."
    return singledispatch(unsupported)


write_table = _writer("table")
write_json = _writer("json")
write_csv = _writer("csv")
write_html = _writer("html")
write_fhir = _writer("fhir")
write_membership = _writer("membership")
write_parquet = _writer("parquet")


@write_table.register
def _table(document: CommandDocument, stream: IO) -> None:
    console = Console(file=stream, highlight=False)
    show(document, console)
    outcome = getattr(document, "audit", None)
    if hasattr(outcome, "describe"):  # audited (an unaudited document says so in its provenance)
        console.print(f"disclosure audit: {outcome.describe()}")


#: What the JSON and CSV writers write from ``data()`` and ``columns()``/``rows()``.
DataDocument = CommandDocument | PublishedSeries


@write_json.register
def _json(document: DataDocument, stream: IO) -> None:
    stream.write(json.dumps(document.data(), indent=2, default=str) + "\n")


@write_csv.register
def _csv(document: DataDocument, stream: IO) -> None:
    writer = csv_writer(stream, list(document.columns()))
    writer.writeheader()
    writer.writerows(document.rows())


@write_parquet.register
def _parquet(document: PublishedSeries, stream: IO) -> None:
    import pyarrow.parquet as pq

    pq.write_table(document.to_arrow(), stream)


@frozen
class OutputFormat:
    """One way to write a published document.

    ``file`` is the name the report gives the file (``None``: not a report file);
    ``binary`` formats write bytes; ``terminal`` is true for the format drawn for
    people at a terminal; ``row_level`` formats hold row-level data, which is never
    published, so they are written only when asked for.
    """

    name: str
    summary: str
    writer: Callable[[Any, IO], None]
    file: str | None = None
    binary: bool = False
    terminal: bool = False
    row_level: bool = False

    def supports(self, document: type) -> bool:
        """Whether this format can write documents of the type ``document``."""
        dispatch = self.writer.dispatch  # type: ignore[attr-defined]
        return dispatch(document) is not dispatch(object)

    def write(self, document: Any, stream: IO) -> None:
        """Write ``document`` to ``stream`` (text, or bytes for a binary format)."""
        self.writer(document, stream)


#: Every output format by name, in the order ``--format`` lists them.
FORMATS: dict[str, OutputFormat] = {
    entry.name: entry
    for entry in (
        OutputFormat("table", "tables for the terminal", write_table, terminal=True),
        OutputFormat("json", "JSON, the policy stated in it", write_json, file="results.json"),
        OutputFormat("csv", "CSV, one figure per row", write_csv, file="results.csv"),
        OutputFormat(
            "html", "one self-contained HTML page with charts", write_html, file="report.html"
        ),
        OutputFormat(
            "fhir", "a FHIR R4 MeasureReport (JSON)", write_fhir, file="measurereport.json"
        ),
        OutputFormat(
            "parquet",
            "Parquet, the long table of a series (--every), the policy in its metadata",
            write_parquet,
            file="series.parquet",
            binary=True,
        ),
        OutputFormat(
            "membership",
            "per-unit membership (row-level: never publish it)",
            write_membership,
            file="membership.parquet",
            binary=True,
            row_level=True,
        ),
    )
}


def formats_for(document: type) -> tuple[str, ...]:
    """The names of the formats that can write documents of the type ``document``, in order."""
    return tuple(name for name, entry in FORMATS.items() if entry.supports(document))


def write(document: Any, name: str, stream: IO) -> None:
    """Write ``document`` to ``stream`` in the format ``name``, audited first.

    Every document goes through the disclosure audit (:func:`threeml.publish.audited.audited`)
    before a figure of it is written; a row-level format is written as it is.
    """
    entry = FORMATS.get(name)
    if entry is None:
        raise UnsupportedFormat(name, type(document))
    if not entry.row_level:
        document = audited(document)
    entry.write(document, stream)

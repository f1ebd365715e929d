"""The report in every output format, and the folder of files ``threeml report`` writes.

The report's document (:class:`~threeml.report.publish.PublishedReport`) is
registered here with the output formats of :mod:`threeml.publish.formats`:
``table`` (the terminal summary), ``json``, ``csv``, ``html``, ``fhir`` and the
row-level ``membership`` file. :func:`write_files` writes the formats asked for
into a folder, each under the file name the format table gives it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from rich.console import Console

from threeml.errors import ThreemlError
from threeml.publish import formats
from threeml.publish.audited import audited
from threeml.publish.formats import FORMATS, formats_for
from threeml.publish.frames import published_rows
from threeml.report import audit as _audit  # noqa: F401  (registers the report's audit)
from threeml.report.fhir import to_measure_report_json
from threeml.report.html import to_html
from threeml.report.publish import PublishedReport
from threeml.report.summary import show_report
from threeml.report.tables import CSV_COLUMNS, csv_rows, to_csv, to_json, write_membership

__all__ = ["DEFAULT_FORMATS", "FILES", "remove_stale", "report_formats", "write_files"]

#: The formats ``threeml report`` writes unless told otherwise, in the order it writes them.
DEFAULT_FORMATS = ("csv", "json", "html", "fhir")

#: The files :func:`write_files` writes by default, in order.
FILES = tuple(FORMATS[name].file for name in DEFAULT_FORMATS)


@formats.write_table.register
def _table(document: PublishedReport, stream: IO) -> None:
    show_report(document, Console(file=stream, highlight=False))


@formats.write_json.register
def _json(document: PublishedReport, stream: IO) -> None:
    stream.write(to_json(document.data))


@formats.write_csv.register
def _csv(document: PublishedReport, stream: IO) -> None:
    stream.write(to_csv(document.data))


@formats.write_html.register
def _html(document: PublishedReport, stream: IO) -> None:
    stream.write(to_html(document.data, title=document.title))


@formats.write_fhir.register
def _fhir(document: PublishedReport, stream: IO) -> None:
    stream.write(to_measure_report_json(document.data))


@formats.write_membership.register
def _membership(document: PublishedReport, stream: IO) -> None:
    write_membership(document.report, stream)


def report_formats() -> tuple[str, ...]:
    """The formats a report can be written in as files (``--format`` of ``threeml report``)."""
    return tuple(name for name in formats_for(PublishedReport) if FORMATS[name].file)


def write_files(
    document: PublishedReport, folder: Path | str, names: Sequence[str] = DEFAULT_FORMATS
) -> dict[str, Path]:
    """Write ``document`` into ``folder`` (created if need be) in each format of ``names``.

    The report is audited first (:func:`threeml.publish.audited.audited`), so
    every file carries the same audited figures and states the outcome; a refused
    audit writes nothing. Returns the files written by name, in the order of ``names``.
    """
    document = audited(document)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in dict.fromkeys(names):
        entry = FORMATS[name]
        if entry.file is None:
            raise ThreemlError(
                f"the {name!r} output format is not written to a file; the report's files are "
                f"written in: {', '.join(report_formats())}"
            )
        path = folder / entry.file
        if entry.binary:
            with _open_output(path, "wb") as stream:
                entry.write(document, stream)
        else:
            with _open_output(path, "w", encoding="utf-8", newline="\n") as stream:
                entry.write(document, stream)
        written[entry.file] = path
    return written


def _open_output(path: Path, mode: str, **options: Any) -> IO:
    """Open ``path`` for writing without ever following a symbolic link: a link left where
    the file goes is replaced by the file, and its target is left untouched."""
    if path.is_symlink():
        path.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, 0o666)
    except OSError as error:
        raise ThreemlError(
            f"cannot write {path} ({error.strerror}): check that --out names a folder you "
            "can write to and that nothing else is being created there at the same time"
        ) from None
    return os.fdopen(descriptor, mode, **options)


def remove_stale(folder: Path | str, names: Sequence[str]) -> list[Path]:
    """Remove from ``folder`` the row-level files (``membership.parquet``) of formats not in
    ``names``: left by an earlier run, they would sit beside the newly published files and
    describe other figures. Returns the files removed."""
    removed = []
    for name, entry in FORMATS.items():
        if not entry.row_level or entry.file is None or name in names:
            continue
        path = Path(folder) / entry.file
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


@published_rows.register
def _rows(document: PublishedReport) -> tuple[Sequence[str], list[dict[str, Any]]]:
    """The report's published table (:func:`threeml.publish.frames.to_arrow`): its CSV rows."""
    return CSV_COLUMNS, csv_rows(document.data)

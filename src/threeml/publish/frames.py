"""Published views of a document as an Arrow table or a pandas DataFrame.

:meth:`CountResult.to_arrow <threeml.engine.results.CountResult.to_arrow>` holds raw
figures, for use inside a secure environment. :func:`to_arrow` and :func:`to_pandas` are
their published counterparts: the document is audited first
(:func:`~threeml.publish.audited.audited`), and the table holds exactly the rows of its
CSV form, one figure per row, with the disclosure column, the audit's outcome and the
provenance rows, so a DataFrame handed on carries the same statement as a file.

A column holding numbers becomes numeric, with ``None`` wherever the CSV holds anything
else; beside it a boolean column ``<name>_suppressed`` (true where the CSV says
``suppressed``) when any figure is suppressed, and a text column ``<name>_text`` for the
other text it held (provenance items). A column without numbers is text.
The table's metadata (``threeml.disclosure``, ``threeml.audit``) states the policy and the
audit's outcome once more. Documents registered with :func:`published_rows`: the count,
metric, comparison and difference of the command line, and the report
(:mod:`threeml.report.files`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import singledispatch
from typing import TYPE_CHECKING, Any

from threeml.errors import ThreemlError
from threeml.publish.audited import audited
from threeml.publish.provenance import audit_text

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["published_rows", "to_arrow", "to_pandas"]

SUPPRESSED = "suppressed"


@singledispatch
def published_rows(document: Any) -> tuple[Sequence[str], list[dict[str, Any]]]:
    """The columns and rows of ``document``'s CSV form (an audited document)."""
    columns, rows = getattr(document, "columns", None), getattr(document, "rows", None)
    if columns is None or rows is None:
        raise ThreemlError(
            f"a {type(document).__name__} has no published table; publish a count, metric, "
            "comparison or report first (threeml.publish.counts.publish_count, …)"
        )
    return tuple(columns()), list(rows())


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _columns(name: str, values: list[Any]) -> list[tuple[str, Any]]:
    """One CSV column as Arrow columns: numbers as numbers, with ``_suppressed`` and
    ``_text`` beside them when some figures are suppressed or text (provenance rows)."""
    import pyarrow as pa

    numbers = [v for v in values if _number(v)]
    if not numbers:
        return [(name, pa.array([None if v is None else str(v) for v in values], pa.string()))]
    kind = pa.int64() if all(isinstance(v, int) for v in numbers) else pa.float64()
    out = [(name, pa.array([v if _number(v) else None for v in values], type=kind))]
    hidden = [v == SUPPRESSED for v in values]
    if any(hidden):
        out.append((f"{name}_suppressed", pa.array(hidden, type=pa.bool_())))
    text = [None if _number(v) or v in ("", None, SUPPRESSED) else str(v) for v in values]
    if any(t is not None for t in text):
        out.append((f"{name}_text", pa.array(text, type=pa.string())))
    return out


def to_arrow(document: Any) -> pa.Table:
    """``document`` audited and as published: its CSV rows as an Arrow table."""
    import pyarrow as pa

    document = audited(document)
    columns, rows = published_rows(document)
    arrays, names = [], []
    for name in columns:
        for column, array in _columns(name, [row.get(name, "") for row in rows]):
            names.append(column)
            arrays.append(array)
    policy = getattr(document, "policy", None)
    metadata = {
        "threeml.disclosure": policy.describe() if policy is not None else "not stated",
        "threeml.audit": audit_text(getattr(document, "audit", None)),
    }
    return pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(metadata)


def to_pandas(document: Any) -> Any:
    """:func:`to_arrow` as a pandas DataFrame (needs pandas); the policy and the audit's
    outcome are in its ``attrs`` too."""
    table = to_arrow(document)
    frame = table.to_pandas()
    frame.attrs.update({k.decode(): v.decode() for k, v in table.schema.metadata.items()})
    return frame

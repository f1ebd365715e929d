"""Published views of a document as an Arrow table or a pandas DataFrame.

:meth:`CountResult.to_arrow <threeml.engine.results.CountResult.to_arrow>` holds raw
figures, for use inside a secure environment. :func:`to_arrow` and :func:`to_pandas` are
their published counterparts: the document is audited first
(:func:`~threeml.publish.audited.audited`), and the table holds exactly the rows of its
CSV form, one figure per row, with the disclosure column, the audit's outcome and the
provenance rows, so a DataFrame handed on carries the same statement as a file.

A column whose figures are all numbers (or suppressed, or empty) becomes numeric, with
``None`` where the CSV says ``suppressed`` or nothing, and a boolean column
``<name>_suppressed`` beside it when any figure is suppressed; any other column is text.
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


def _column(values: list[Any]) -> tuple[Any, list[bool] | None]:
    import pyarrow as pa

    present = [v for v in values if v not in ("", None, SUPPRESSED)]
    if present and all(_number(v) for v in present):
        kind = pa.int64() if all(isinstance(v, int) for v in present) else pa.float64()
        numbers = [v if _number(v) else None for v in values]
        hidden = [v == SUPPRESSED for v in values]
        return pa.array(numbers, type=kind), hidden if any(hidden) else None
    return pa.array([None if v is None else str(v) for v in values], type=pa.string()), None


def to_arrow(document: Any) -> pa.Table:
    """``document`` audited and as published: its CSV rows as an Arrow table."""
    import pyarrow as pa

    document = audited(document)
    columns, rows = published_rows(document)
    arrays, names = [], []
    for name in columns:
        array, hidden = _column([row.get(name, "") for row in rows])
        arrays.append(array)
        names.append(name)
        if hidden is not None:
            arrays.append(pa.array(hidden, type=pa.bool_()))
            names.append(f"{name}_suppressed")
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

"""Row numbers for a database table, without a window over the whole table.

A table in a database (or on Spark) has no row order to report problems by, and
``ROW_NUMBER() OVER ()`` over a whole table pulls it into one partition on a cluster. Rows are
numbered instead by a documented rule every engine computes in parallel:

- each row falls in a *bucket*: the last two characters of its key (the table's id column,
  else its first column), as text;
- within a bucket, rows are numbered in order of every column (``row_number()`` partitioned
  by the bucket);
- a bucket's rows come after those of every bucket that sorts before it in code-point order
  (offsets computed in Python from the bucket counts, an aggregate of at most a few thousand
  rows, and joined back as a small table).

The numbers are unique, from 1 to the number of rows, and the same on every run of one engine;
two engines may number differently only where their collations order text differently.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from threeml.records.schema import Table

__all__ = ["number_rows"]


def number_rows(spec: Table, table: ir.Table, name: str) -> ir.Table:
    """``table`` with a column ``name`` numbering its rows from 1 (see the module)."""
    first = spec.key if spec.key in table.columns else table.columns[0]
    bucket = table[first].cast("string").fill_null("").right(2)
    orderable = [c for c in table.columns if not _nested(table[c])]
    keyed = table.mutate(_bucket=bucket)
    ranked = keyed.mutate(
        _rank=ibis.row_number().over(group_by="_bucket", order_by=[keyed[c] for c in orderable])
    )
    counts = keyed.group_by("_bucket").aggregate(_n=keyed.count()).to_pyarrow().to_pylist()
    offsets: dict[str, list] = {"_key": [], "_offset": []}
    total = 0
    for row in sorted(counts, key=lambda row: row["_bucket"]):
        offsets["_key"].append(row["_bucket"])
        offsets["_offset"].append(total)
        total += int(row["_n"])
    table_of_offsets = ibis.memtable(offsets, schema={"_key": "string", "_offset": "int64"})
    joined = ranked.join(table_of_offsets, ranked._bucket == table_of_offsets._key)
    return joined.mutate(**{name: (joined._offset + joined._rank + 1).cast("int64")}).drop(
        "_bucket", "_rank", "_key", "_offset"
    )


def _nested(column: ir.Value) -> bool:
    kind = column.type()
    return kind.is_array() or kind.is_struct() or kind.is_map()

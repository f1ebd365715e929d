"""Record keys for the cell-key method: the secret seed, and one key per unit, in the engine.

A unit's *record key* is the first four hexadecimal digits of
``SHA-256(seed ":" kind ":" id)``, read as a number, modulo the key range
(``kind`` is ``u`` for a user, ``e`` for an enrolment). It is computed by the engine
as a column (no Python per row) and summed per published cell
(:mod:`threeml.engine.evaluate`); :func:`record_key` is the same arithmetic in Python,
for the reference evaluator and tests.

The seed is secret and never published. It is read from ``THREEML_CELL_KEY_SEED`` when
that is set; otherwise from the file ``.threeml-cell-key`` in the extract's folder,
created there from :func:`os.urandom` on first use. An extract that is not a folder (a
database, Arrow tables in memory) needs the variable.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from attrs import field, frozen

from threeml.errors import ThreemlError
from threeml.settings import SettingError

__all__ = [
    "SEED_FILE",
    "SEED_VARIABLE",
    "CellKeySeedError",
    "dataset_seed",
    "record_key",
    "record_key_column",
]

#: The environment variable that gives the seed (it wins over a seed file).
SEED_VARIABLE = "THREEML_CELL_KEY_SEED"
#: The seed file threeml keeps in an extract's folder.
SEED_FILE = ".threeml-cell-key"
_HEX = "0123456789abcdef"


class CellKeySeedError(ThreemlError):
    """The cell-key method needs a secret seed and none can be found or kept."""


def dataset_seed(dataset: Any) -> str:
    """The secret seed of ``dataset``'s extract (created in its folder on first use)."""
    given = os.environ.get(SEED_VARIABLE)
    if given is not None and given and not given.strip():
        raise SettingError(
            f"{SEED_VARIABLE} is set but holds only white space: give a long random secret "
            "(e.g. the output of python -c 'import secrets; print(secrets.token_hex(32))'), "
            "or unset it to use the seed file kept in the extract's folder"
        )
    if given and given.strip():
        return given.strip()
    folder = Path(str(getattr(dataset, "source", "")))
    if not folder.is_dir():
        raise CellKeySeedError(
            f"the cell-key policy needs a secret seed for {dataset.source!r}, which is not a "
            f"folder threeml can keep one in: set {SEED_VARIABLE} to a long random secret "
            "(the same one every time you publish from this extract), and never publish it"
        )
    path = folder / SEED_FILE
    if path.exists():
        seed = path.read_text(encoding="utf-8").strip()
        if seed:
            return seed
        raise CellKeySeedError(
            f"{path} is empty; delete it to have threeml create a new seed (published "
            "figures will then change), or restore the seed it held"
        )
    seed = os.urandom(32).hex()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # pragma: no cover - another process created it just now
        return dataset_seed(dataset)
    except OSError as error:
        raise CellKeySeedError(
            f"cannot create the cell-key seed file {path} ({error.strerror}): set "
            f"{SEED_VARIABLE} to a long random secret instead, and never publish it"
        ) from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(seed + "\n")
    return seed


def record_key(seed: str, kind: str, unit_id: str, key_range: int) -> int:
    """One unit's record key, computed in Python (the engine's arithmetic, for tests)."""
    digest = hashlib.sha256(f"{seed}:{kind}:{unit_id}".encode()).hexdigest()
    return int(digest[:4], 16) % key_range


def record_key_column(seed: str, kind: str, ids: ir.StringValue, key_range: int) -> ir.IntegerValue:
    """The record key of every unit of ``ids`` as an engine expression (see :func:`record_key`)."""
    digest = (ibis.literal(f"{seed}:{kind}:") + ids.cast("string")).hexdigest("sha256")
    digits = ibis.literal(_HEX)
    value: ir.IntegerValue = ibis.literal(0, type="int64")
    for position in range(4):
        digit = digits.find(digest.substr(position, 1)).cast("int64")
        value = value * 16 + digit
    return value % key_range


@frozen
class KeyRequest:
    """What an evaluation needs to compute cell keys: the secret seed and the key range."""

    seed: str = field(repr=False)
    key_range: int


def keyed(table: ir.Table, keys: KeyRequest | None, **ids: tuple[str, str]) -> ir.Table:
    """``table`` with a record-key column per ``name=(kind, id column)`` when keys are asked."""
    if keys is None:
        return table
    return table.mutate(
        **{
            name: record_key_column(keys.seed, kind, table[column], keys.key_range)
            for name, (kind, column) in ids.items()
        }
    )


def key_sums(
    table: ir.Table, wanted: Mapping[str, ir.BooleanValue], keys: KeyRequest | None
) -> dict[str, ir.Value]:
    """Per named condition, the sum of the record keys (``_rk``) of the rows meeting it,
    as aggregates named ``<name>_key`` (none when keys are not asked for)."""
    if keys is None:
        return {}
    return {f"{name}_key": table._rk.sum(where=where) for name, where in wanted.items()}


def as_cell_key(total: int | None, keys: KeyRequest | None) -> int | None:
    """A sum of record keys as a cell key (``None`` when keys were not asked for)."""
    return None if keys is None else int(total or 0) % keys.key_range


def distinct_key(table: ir.Table, where: ir.BooleanValue, keys: KeyRequest | None) -> int | None:
    """The cell key of the distinct people among the rows meeting ``where`` (their ``_uk``)."""
    if keys is None:
        return None
    people = table.filter(where).select("user_id", "_uk").distinct()
    total = people.aggregate(k=people._uk.sum()).to_pyarrow().to_pylist()[0]["k"]
    return as_cell_key(total, keys)

"""What a published output is and where it came from: its provenance.

Every published document (a count, a comparison, a difference, a metric, the report)
carries a :class:`Provenance`: threeml's version, the disclosure policy applied, the
outcome of the disclosure audit, each definition used (name, version, content hash and
source distribution), the fingerprint of the extract
(:class:`~threeml.data.fingerprint.ExtractFingerprint`) with its extract date, and the
rows a lenient load set aside, per table and reason. ``threeml verify`` reads it back.

A definition's content hash (:func:`definition_hash`) is the SHA-256 of its canonical
serialisation (:func:`threeml.definitions.to_data`, keys sorted, its ``source`` left
out), so a definition changed under an unchanged version string is visible.

The audit slot (:data:`NOT_AUDITED` until an audit fills it) is a text, or any value with
``describe()`` (the line outputs print) and ``to_dict()`` (what JSON holds).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from attrs import field, frozen

from threeml._version import __version__
from threeml.definitions import CountingDefinition, MetricDefinition, to_data
from threeml.definitions.policies import DisclosurePolicy

if TYPE_CHECKING:
    from threeml.data.dataset import Dataset
    from threeml.data.fingerprint import ExtractFingerprint
    from threeml.data.report import ValidationReport

__all__ = [
    "NOT_AUDITED",
    "DefinitionStamp",
    "Provenance",
    "SetAside",
    "audit_data",
    "audit_text",
    "definition_hash",
    "provenance_of",
    "set_aside_of",
    "stamp_data",
    "stamp_items",
]

#: What the audit slot says until the disclosure audit has run on the output.
NOT_AUDITED = "not audited"


def audit_text(audit: Any) -> str:
    """The audit outcome as one line (its ``describe()`` when it has one; for the data an
    output recorded, its ``description`` or ``outcome``)."""
    describe = getattr(audit, "describe", None)
    if callable(describe):
        return str(describe())
    if isinstance(audit, Mapping):
        return str(audit.get("description") or audit.get("outcome") or json.dumps(audit))
    return str(audit)


def audit_data(audit: Any) -> Any:
    """The audit outcome as JSON holds it: its ``to_dict()`` when it has one (with its
    ``describe()`` line as ``description`` unless given), else its text."""
    to_dict = getattr(audit, "to_dict", None)
    if not callable(to_dict):
        return audit_text(audit)
    data = dict(to_dict())
    if "description" not in data:
        data["description"] = audit_text(audit)
    return data


def definition_hash(definition: CountingDefinition | MetricDefinition) -> str:
    """The SHA-256 (hex) of ``definition``'s canonical serialisation, without its source."""
    text = json.dumps(
        to_data(definition), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@frozen
class DefinitionStamp:
    """One definition an output used: its kind, name, version, content hash and source."""

    kind: str
    name: str
    version: str
    sha256: str
    source: str | None

    @classmethod
    def of(cls, definition: CountingDefinition | MetricDefinition) -> DefinitionStamp:
        """The stamp of ``definition``."""
        kind = "metric" if isinstance(definition, MetricDefinition) else "counting"
        source = definition.source.describe() if definition.source else None
        return cls(kind, definition.name, definition.version, definition_hash(definition), source)

    def to_dict(self) -> dict[str, Any]:
        """The stamp as plain JSON-ready data."""
        return {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DefinitionStamp:
        """Read back what :meth:`to_dict` wrote."""
        return cls(data["kind"], data["name"], data["version"], data["sha256"], data["source"])


@frozen
class SetAside:
    """Rows of one table a lenient load set aside for one reason (the first problem found)."""

    table: str
    reason: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        """As plain JSON-ready data."""
        return {"table": self.table, "reason": self.reason, "rows": self.rows}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SetAside:
        """Read back what :meth:`to_dict` wrote."""
        return cls(data["table"], data["reason"], int(data["rows"]))


def set_aside_of(report: ValidationReport) -> tuple[SetAside, ...]:
    """The rows ``report`` says were set aside, per table and reason, in a stable order."""
    return tuple(
        SetAside(table, kind.value, n)
        for (table, kind), n in sorted(report.set_aside.items(), key=lambda item: item[0])
        if n
    )


@frozen
class Provenance:
    """Where a published output came from (see the module's description)."""

    policy: Mapping[str, Any] = field(converter=dict)
    definitions: tuple[DefinitionStamp, ...] = field(converter=tuple)
    extract: ExtractFingerprint | None = None
    set_aside: tuple[SetAside, ...] = field(default=(), converter=tuple)
    threeml_version: str = __version__

    def data(self) -> dict[str, Any]:
        """The provenance as plain JSON-ready data."""
        return {
            "threeml_version": self.threeml_version,
            "disclosure": dict(self.policy),
            "definitions": [d.to_dict() for d in self.definitions],
            "extract": self.extract.to_dict() if self.extract else None,
            "set_aside": [s.to_dict() for s in self.set_aside],
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Provenance:
        """Read back what :meth:`data` wrote (the ``provenance`` of a published JSON file)."""
        from threeml.data.fingerprint import ExtractFingerprint

        extract = data.get("extract")
        return cls(
            data.get("disclosure") or {},
            tuple(DefinitionStamp.from_dict(d) for d in data.get("definitions", ())),
            ExtractFingerprint.from_dict(extract) if extract else None,
            tuple(SetAside.from_dict(s) for s in data.get("set_aside", ())),
            data.get("threeml_version", ""),
        )

    def items(self) -> list[tuple[str, str]]:
        """The provenance as (item, value) pairs: one CSV row or terminal line each."""
        pairs = [
            ("threeml_version", self.threeml_version),
            ("disclosure", str(self.policy.get("description", self.policy.get("name", "")))),
        ]
        for d in self.definitions:
            source = f"; {d.source}" if d.source else ""
            stamp = f"version {d.version}; sha256 {d.sha256}{source}"
            pairs.append((f"definition {d.name}", stamp))
        if self.extract is not None:
            pairs.append(("extract", self.extract.source))
            date = self.extract.extract_date
            pairs.append(("extract_date", date.isoformat() if date else ""))
            for t in self.extract.tables:
                pairs.append(
                    (f"table {t.table}", f"{t.source}; {t.rows} rows; sha256 {t.sha256 or '-'}")
                )
        for s in self.set_aside:
            pairs.append((f"set aside {s.table}", f"{s.rows} rows: {s.reason}"))
        if not self.set_aside:
            pairs.append(("set aside", "none"))
        return pairs


def stamp_data(provenance: Provenance | None, audit: Any = NOT_AUDITED) -> dict[str, Any]:
    """What a document's JSON adds: ``audit`` and ``provenance`` (``None`` when unknown)."""
    return {
        "audit": audit_data(audit),
        "provenance": provenance.data() if provenance is not None else None,
    }


def stamp_items(provenance: Provenance | None, audit: Any = NOT_AUDITED) -> list[tuple[str, str]]:
    """What a document's CSV and terminal forms add, as (item, value) pairs: the audit first.

    A document published from Python without an extract and not audited adds nothing.
    """
    pairs = [("audit", audit_text(audit))]
    if provenance is None:
        if isinstance(audit, str) and audit == NOT_AUDITED:
            return []
        return [*pairs, ("provenance", "not recorded (computed without an extract)")]
    return pairs + provenance.items()


def _definitions(
    definitions: Iterable[CountingDefinition | MetricDefinition],
) -> tuple[DefinitionStamp, ...]:
    seen: dict[tuple[str, str], DefinitionStamp] = {}
    for definition in definitions:
        stamp = DefinitionStamp.of(definition)
        seen.setdefault((stamp.kind, stamp.name), stamp)
    return tuple(seen.values())


def provenance_of(
    dataset: Dataset | None,
    definitions: Iterable[CountingDefinition | MetricDefinition],
    policy: DisclosurePolicy,
    *,
    fingerprint: ExtractFingerprint | None = None,
) -> Provenance:
    """The provenance of an output computed from ``dataset`` with ``definitions`` under ``policy``.

    The fingerprint is computed from ``dataset`` unless given.
    """
    if fingerprint is None and dataset is not None:
        from threeml.data.fingerprint import fingerprint as compute

        fingerprint = compute(dataset)
    aside = set_aside_of(dataset.report) if dataset is not None else ()
    return Provenance(policy.to_dict(), _definitions(definitions), fingerprint, aside)

"""Why a person fails a criterion, in words: the explanations the reference evaluator gives.

``explain`` shows them for one person: the enrolments that do not qualify, each described
with why not, and the contacts that do not count, grouped by the first reason that applies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from threeml.definitions import ContactsAtLeast
from threeml.engine.reference_data import weighted
from threeml.records.periods import Period

__all__ = [
    "ENROLMENTS_SHOWN",
    "contacts_left_out",
    "date_fails",
    "either",
    "none_qualifies",
    "overlap_fails",
]

Row = Mapping[str, Any]


#: How many enrolments a failing explanation describes one by one.
ENROLMENTS_SHOWN = 5


def either(codes: Any) -> str:
    names = sorted(str(code) for code in codes)
    return names[0] if len(names) == 1 else "any of " + ", ".join(names)


def _described(enrolment: Row) -> str:
    return (
        f"{enrolment['enrolment_id']} ({enrolment['service_kind']}, "
        f"referred {enrolment['referred_on'] or 'never'}, "
        f"installed {enrolment['installed_on'] or 'never'}, "
        f"ended {enrolment['ended_on'] or 'open'})"
    )


def none_qualifies(handler: Any, criterion: Any, enrolments: list[Row], window: Period) -> str:
    """``none of N enrolment(s) qualifies``, then each enrolment and why it does not."""
    head = f"none of {len(enrolments)} enrolment(s) qualifies"
    if not enrolments:
        return f"{head} (this user has no enrolment)"
    ordered = sorted(enrolments, key=lambda e: str(e["enrolment_id"]))
    shown = [
        f"{_described(e)}: {handler.why_not(criterion, e, window)}"
        for e in ordered[:ENROLMENTS_SHOWN]
    ]
    more = len(ordered) - ENROLMENTS_SHOWN
    tail = f"; and {more} more" if more > 0 else ""
    return f"{head}: {'; '.join(shown)}{tail}"


def overlap_fails(enrolment: Row, window: Period) -> str:
    if enrolment["installed_on"] is None:
        return "never installed"
    if enrolment["installed_on"] > window.end:
        return f"installed {enrolment['installed_on']}, after {window.end}"
    return f"ended {enrolment['ended_on']}, before {window.start}"


def date_fails(column: str, verb: str) -> Callable[[Row, Period], str]:
    def fails(enrolment: Row, window: Period) -> str:
        day = enrolment[column]
        if day is None:
            return f"never {verb}"
        side = "before" if day < window.start else "after"
        edge = window.start if day < window.start else window.end
        return f"{verb} {day}, {side} {edge}"

    return fails


def contacts_left_out(criterion: ContactsAtLeast, contacts: Sequence[dict], period: Period) -> str:
    """Why this person's other contacts do not count, each under the first reason that applies
    (in this order: its kind, its enrolment's service kind, its date, its enrolment's
    installed window)."""
    window = criterion.window.resolve(period)
    reasons = [
        f"not {either(criterion.contact_kinds)}",
        f"not on {either(criterion.service_kinds)} enrolments",
        f"dated outside {window.start} to {window.end}",
        "dated outside their enrolment's installed window",
    ]
    found = [0] * len(reasons)
    total = 0
    for c, n in weighted(contacts):
        total += n
        if criterion.contact_kinds and c["kind"] not in criterion.contact_kinds:
            found[0] += n
        elif criterion.service_kinds and c["service_kind"] not in criterion.service_kinds:
            found[1] += n
        elif not window.contains(c["date"]):
            found[2] += n
        elif not c["counts"]:
            found[3] += n
    if not total:
        return "; this user has no contacts"
    listed = ", ".join(f"{n} {why}" for why, n in zip(reasons, found, strict=True) if n)
    return f"; of {total} contact(s): {listed}" if listed else ""

"""Contacts beside the runs: (user, interval) rows only where a user has counting contacts.

Criteria read from contacts (``contacts-at-least``: *active*, *readings*) change from month
to month, while the criteria read from enrolments' dates hold over runs of months
(:mod:`threeml.engine.series_runs`). When every contact criterion needs a contact to hold
(a count of at least one), a series keeps them apart:

- the *runs* (one row per (user, run), cut at dates alone) carry every criterion, those read
  from contacts false;
- the *contact months* (:func:`contact_months`: one row per (user, interval) where the user
  has counting contacts) carry every criterion in that interval: those read from contacts
  from the contacts counted per (enrolment, interval), the others from the user's run
  covering the interval (one join by user). Only the months where a definition with
  criteria of both kinds can hold meet the runs; the others (``active`` alone, say) meet
  the user's row, since no figure read from them names a criterion read from runs.

A figure whose mask names a contact criterion can only hold in a contact month, so it is
summed over the contact months by interval; every other figure over the runs by prefix
sums. A definition's records (its members' contributing enrolments) in a contact month are
the run's count of enrolments contributing through date criteria plus the enrolments
contributing through contacts alone (an enrolment's contact rows meet its own run facts by
enrolment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.definitions import Criterion
from threeml.engine.compiler import Compiler, date_literal
from threeml.engine.criteria import CriterionHandler, handler_for
from threeml.engine.series_aggregates import count_where
from threeml.engine.series_keys import ENROLMENT_TEXT, numbered_contacts
from threeml.engine.series_runs import RUN_END, days_within

__all__ = ["contact_counts", "contact_months", "merged_sums", "splits_contacts"]


def splits_contacts(counted: Sequence[Criterion], compiler: Compiler) -> bool:
    """Whether every criterion read from contacts fails without one (so the contact months
    can be kept apart from the runs)."""
    return bool(counted) and all(handler_for(c, compiler).needs_contacts(c) for c in counted)


def contact_counts(
    compiler: Any,
    counted: Sequence[Criterion],
    handlers: Mapping[Criterion, CriterionHandler],
    names: Mapping[Criterion, str],
    intervals: ir.Table,
    with_user: bool,
    days: tuple[Sequence[dt.date], Sequence[dt.date]],
    interval: str,
    enrolments: ir.Table | None = None,
    others: Sequence[Criterion] = (),
) -> ir.Table:
    """Per (enrolment, interval) with counting contacts in the interval's windows, how many
    count towards each criterion of ``counted`` (read once for the whole span); with
    ``with_user`` (runs), the user too, and each count capped at the handler's
    ``contact_cap``.

    With ``enrolments`` (rows of the compiler's enrolments with the series' columns, and
    the record key ``_ek`` when keyed; numbered ones, :mod:`.series_keys`, keep their
    numbers), each row also says whether its enrolment contributes
    to each criterion of ``others`` in the interval (``k<j>`` for the fact column ``m<j>``:
    read from the enrolment's row and the interval's days, as its facts would say), and
    carries ``_ek``.
    """
    if enrolments is None:
        enrolments = compiler.enrolments.select(
            "enrolment_id", "installed_on", "ended_on", "service_kind"
        )
    if ENROLMENT_TEXT in enrolments.columns:
        # Numbered enrolments (:mod:`.series_keys`): the contacts carry their numbers.
        contacts = numbered_contacts(compiler, enrolments)
    else:
        contacts = compiler.contacts_counting_on(enrolments)
    low = min(min(c.window.resolve(i.period).start for c in counted) for i in compiler.intervals)
    contacts = contacts.filter(
        contacts.date >= date_literal(low), contacts.date <= date_literal(compiler.period.end)
    )
    # Each contact meets the intervals whose contact days hold it by its date (an equality
    # join with a small table of days: a range join would compare every contact with every
    # interval). The days carry their interval's columns: one join per contact.
    within = days_within(*days, interval).inner_join(intervals, interval)
    dated = contacts.inner_join(within, contacts.date == within._day).drop("_day")
    if others:
        own: dict[str, ir.Value] = {}
        for c in others:
            own.update(handlers[c].series_fact_columns(c, compiler, dated, names[c]))
        dated = dated.mutate(**own)
    # Counts of the rows of the table grouped (a count refers to its table, not a column).
    counts = {
        names[c]: count_where(dated, handlers[c].contact_test(c, compiler, dated)) for c in counted
    }
    if with_user:
        # For runs: each count capped where the criterion stops telling counts apart.
        for c in counted:
            cap = handlers[c].contact_cap(c)
            if cap is not None:
                counts[names[c]] = ibis.least(counts[names[c]], cap)
    for c in others:
        counts[f"k{names[c][1:]}"] = handlers[c].contributes(c, dated, names[c]).any()
    if "_ek" in dated.columns:
        counts["_ek"] = dated._ek.max()
    keys = ["enrolment_id", *(["user_id"] if with_user else []), interval]
    return dated.group_by(keys).agg(**counts)


def contact_months(
    compiler: Compiler,
    per: ir.Table,
    runs: ir.Table,
    base: ir.Table,
    fact_names: Mapping[Criterion, str],
    columns: Mapping[Criterion, str],
    record_names: Mapping[frozenset[Criterion], str],
    keyed: bool,
    interval: str,
) -> ir.Table:
    """The contact months (see the module docs): ``user_id``, ``interval``, the runs'
    columns (``_rk``, ``_n<j>``, ``_nk<j>``, breakdowns) and a flag per criterion.

    ``per`` are the counts per (enrolment, ``user_id``, interval) of :func:`contact_counts`,
    with whether each enrolment contributes to the other criteria of a record set that
    names a criterion read from contacts (``k<j>``) and its record key ``_ek`` when
    ``keyed``; ``runs`` the user flags per run; ``base`` one row per user (the breakdown
    columns, the criteria about the user alone and the record key ``_rk`` when ``keyed``).

    Only the months where a figure can need the run's columns meet the runs (a range join,
    by user); the others meet the user's row alone (:func:`_needs_runs`).
    """
    counted = [c for c in fact_names if c in _counted(per, fact_names)]
    contributing = {
        f"k{fact_names[c][1:]}": handler_for(c, compiler).contributes(c, per, fact_names[c])
        for c in counted
    }
    aggregates: dict[str, ir.Value] = {
        f"_c_{fact_names[c]}": handler_for(c, compiler).series_user_aggregate(
            c, compiler, per, fact_names[c]
        )
        for c in counted
    }
    for criteria, name in record_names.items():
        through = [c for c in criteria if c in counted]
        if not through:
            continue
        by_contacts = ibis.or_(*[contributing[f"k{fact_names[c][1:]}"] for c in through])
        others = [per[f"k{fact_names[c][1:]}"] for c in criteria if c not in counted]
        alone = by_contacts & ~ibis.or_(*others) if others else by_contacts
        aggregates[f"_x{name[2:]}"] = count_where(per, alone)
        if keyed:
            aggregates[f"_xk{name[2:]}"] = per._ek.sum(where=alone)
    months = per.group_by(["user_id", interval]).agg(**aggregates)
    # Every figure read from the contact months names a criterion read from contacts: a
    # month in which the user passes none of them adds nothing (and meets no run).
    months = months.filter(ibis.or_(*[months[f"_c_{fact_names[c]}"] for c in counted]))
    need = _needs_runs(months, counted, fact_names, record_names)
    # The runs' columns besides the user, the run's bounds and the records and flags: the
    # breakdown and the record key, the same in every run of a user (as in ``base``).
    names = set(columns.values()) | {n for j in record_names.values() for n in _records(j)}
    others = [col for col in runs.columns if col not in ("user_id", interval, RUN_END, *names)]
    parts = []
    if need is not None:
        met = months.filter(need)
        covering = runs.rename(_uu="user_id", _ui=interval, _ut=RUN_END)
        joined = met.inner_join(
            covering,
            [
                met.user_id == covering._uu,
                covering._ui <= met[interval],
                met[interval] < covering._ut,
            ],
        )
        mine = _month_columns(joined, True, counted, fact_names, columns, record_names, keyed)
        parts.append(joined.select("user_id", interval, *others, **mine))
    # The other months: no figure read from them names a criterion read from runs, so they
    # meet the user's row alone (the breakdown, the criteria about the user), with the
    # criteria read from runs false and the records those through contacts alone.
    alone = months if need is None else months.filter(~need)
    owners = base.rename(_bu="user_id")
    joined = alone.inner_join(owners, alone.user_id == owners._bu)
    mine = _month_columns(joined, False, counted, fact_names, columns, record_names, keyed)
    parts.append(joined.select("user_id", interval, *others, **mine))
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def _records(name: str) -> tuple[str, str]:
    """A record set's columns: its count of contributing enrolments and their key sum."""
    return name, f"_nk{name[2:]}"


def _needs_runs(
    months: ir.Table,
    counted: Sequence[Criterion],
    fact_names: Mapping[Criterion, str],
    record_names: Mapping[frozenset[Criterion], str],
) -> ir.BooleanValue | None:
    """Where a contact month must meet its run: where one of the criteria read from contacts
    of a definition that also has a criterion read from runs holds (``None``: nowhere).

    Each definition's enrolment criteria are one of the record sets. A figure read from the
    contact months names a criterion read from contacts, and holds only where each of those
    it names does; a figure or record count that also needs the run's columns is one of a
    definition with criteria of both kinds, so it holds only where this is true. Elsewhere
    the run's columns change no figure.
    """
    found: dict[str, None] = {}
    for criteria in record_names:
        through = [c for c in criteria if c in counted]
        if through and len(through) < len(criteria):
            found.update((f"_c_{fact_names[c]}", None) for c in through)
    return ibis.or_(*[months[name] for name in found]) if found else None


def _month_columns(
    joined: ir.Table,
    run: bool,
    counted: Sequence[Criterion],
    fact_names: Mapping[Criterion, str],
    columns: Mapping[Criterion, str],
    record_names: Mapping[frozenset[Criterion], str],
    keyed: bool,
) -> dict[str, ir.Value]:
    """The contact months' records and flags, from the months ``joined`` with their runs
    (``run``: the run's records with those through contacts added) or with their users
    (those through contacts alone, the criteria read from runs false). Records as int64,
    so that both kinds of months stack."""
    kept: dict[str, ir.Value] = {}
    for name in record_names.values():
        j = name[2:]
        extra = f"_x{j}" in joined.columns
        through = joined[f"_x{j}"] if extra else ibis.literal(0, "int64")
        count = joined[name].cast("int64") + through if run else through
        kept[name] = count.cast("int64")
        if keyed:
            # A run where no row contributes has no key sum (NULL), not 0.
            contacts = joined[f"_xk{j}"].fill_null(0) if extra else ibis.literal(0, "int64")
            if run:
                key = joined[f"_nk{j}"]
                kept[f"_nk{j}"] = (key.fill_null(0) + contacts if extra else key).cast("int64")
            else:
                kept[f"_nk{j}"] = contacts.cast("int64")
    flags: dict[str, ir.Value] = {}
    for c, name in columns.items():
        if c in counted:
            flags[name] = joined[f"_c_{fact_names[c]}"]
        elif run or c not in fact_names:
            flags[name] = joined[name]
        else:
            flags[name] = ibis.literal(False)
    return {**kept, **flags}


def _counted(per: ir.Table, fact_names: Mapping[Criterion, str]) -> set[Criterion]:
    return {c for c, name in fact_names.items() if name in per.columns}


def merged_sums(
    parts: Sequence[tuple[list[dict[str, int]], list[dict[str, Any]]]],
    within: Sequence[str],
    interval: str,
) -> tuple[list[dict[str, int]], list[dict[str, Any]]]:
    """Sums of different figures per interval (from the runs and from the contact months)
    as one: totals per interval side by side, and one row per (interval, group) with every
    figure (0 where a part had no row)."""
    totals = [dict(total) for total in parts[0][0]]
    for more, _ in parts[1:]:
        for total, extra in zip(totals, more, strict=True):
            total.update(extra)
    names = set().union(*(total.keys() for total in totals)) if totals else set()
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for _, groups in parts:
        for row in groups:
            key = (row[interval], *(row[w] for w in within))
            merged.setdefault(key, dict.fromkeys(names, 0)).update(row)
    return totals, list(merged.values())

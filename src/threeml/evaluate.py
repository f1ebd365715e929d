"""The engine: counting definitions compiled to ibis queries over a dataset.

Every criterion compiles to a set of passing users (and, for enrolment
criteria, the enrolments that contribute), computed once however many
definitions share it. One per-user table of boolean columns — one column per
distinct criterion — then gives every count, both attrition forms and the
breakdowns through aggregates, as OHDSI does with inclusion-rule masks. Nothing
here builds a Python object per data row; queries run where the data lives
(DuckDB by default, any ibis backend in principle).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import cached_property
from typing import Any

import ibis
import ibis.expr.types as ir

from threeml.codes import Unit
from threeml.data import Dataset
from threeml.definitions import (
    ContactsAtLeast,
    CountingDefinition,
    Criterion,
    EnrolmentOverlaps,
    FirstInstalledIn,
    HasCondition,
    InstalledIn,
    MemberOf,
    Query,
    ReferredIn,
    RiskAtLeast,
    RiskInTopPercent,
    SectorsAtLeast,
    Window,
)
from threeml.errors import ThreemlError
from threeml.periods import Period
from threeml.results import AttritionStep, BreakdownRow, CountResult
from threeml.schema import TABLES

__all__ = ["ENROLMENT_BREAKDOWNS", "EvaluationError", "count", "count_many"]

#: Breakdowns that come from the enrolments behind a count rather than from the user.
ENROLMENT_BREAKDOWNS = ("service_kind", "sector")

_FAR_FUTURE = date(9999, 12, 31)


class EvaluationError(ThreemlError):
    """A definition cannot be evaluated as asked (a bad breakdown, a cycle, an unknown name)."""


def _lit(day: date) -> ir.DateScalar:
    return ibis.literal(day, type="date")


class Compiler:
    """Compiles criteria into ibis tables of passing users / contributing enrolments."""

    def __init__(
        self,
        dataset: Dataset,
        period: Period,
        resolve: Any = None,
    ) -> None:
        self.dataset = dataset
        self.period = period
        self.resolve = resolve
        self._stack: list[str] = []

    @cached_property
    def users(self) -> ir.Table:
        return self.dataset.table("users")

    @cached_property
    def enrolments(self) -> ir.Table:
        """Enrolments with their service's kind and sector."""
        enrolments = self.dataset.table("enrolments")
        services = self.dataset.table("services").select(
            _service_id="service_id", service_kind="kind", sector="sector"
        )
        joined = enrolments.inner_join(services, enrolments.service_id == services._service_id)
        return joined.select(
            "enrolment_id",
            "user_id",
            "service_id",
            "referred_on",
            "installed_on",
            "ended_on",
            "service_kind",
            "sector",
        )

    @cached_property
    def counting_contacts(self) -> ir.Table:
        """Contacts dated inside their own enrolment's installed window."""
        contacts = self.dataset.table("contacts")
        windows = self.enrolments.select(
            _enrolment_id="enrolment_id",
            installed_on="installed_on",
            ended_on="ended_on",
            service_kind="service_kind",
        )
        joined = contacts.inner_join(windows, contacts.enrolment_id == windows._enrolment_id)
        counted = joined.filter(
            joined.installed_on.notnull(),
            joined.date >= joined.installed_on,
            joined.date <= joined.ended_on.fill_null(_lit(_FAR_FUTURE)),
        )
        return counted.select("user_id", "enrolment_id", "date", "kind", "service_kind")

    def window(self, window: Window) -> tuple[ir.DateScalar, ir.DateScalar]:
        days = window.resolve(self.period)
        return _lit(days.start), _lit(days.end)

    def _matching_enrolments(self, criterion: Any) -> ir.Table:
        e = self.enrolments
        if getattr(criterion, "service_kinds", None):
            e = e.filter(e.service_kind.isin(sorted(k.value for k in criterion.service_kinds)))
        if getattr(criterion, "sectors", None):
            e = e.filter(e.sector.isin(sorted(s.value for s in criterion.sectors)))
        start, end = self.window(criterion.window)
        match criterion:
            case EnrolmentOverlaps() | SectorsAtLeast():
                return e.filter(
                    e.installed_on.notnull(),
                    e.installed_on <= end,
                    e.ended_on.isnull() | (e.ended_on >= start),
                )
            case ReferredIn():
                return e.filter(e.referred_on >= start, e.referred_on <= end)
            case InstalledIn() | FirstInstalledIn():
                return e.filter(e.installed_on >= start, e.installed_on <= end)
        raise TypeError(criterion)  # pragma: no cover

    def _contacts(self, criterion: ContactsAtLeast) -> ir.Table:
        c = self.counting_contacts
        start, end = self.window(criterion.window)
        c = c.filter(c.date >= start, c.date <= end)
        if criterion.contact_kinds:
            c = c.filter(c.kind.isin(sorted(k.value for k in criterion.contact_kinds)))
        if criterion.service_kinds:
            c = c.filter(c.service_kind.isin(sorted(k.value for k in criterion.service_kinds)))
        return c

    def user_pass(self, criterion: Criterion) -> ir.Table:
        """The users who pass ``criterion``: a table with one column, ``user_id``."""
        match criterion:
            case EnrolmentOverlaps() | ReferredIn() | InstalledIn():
                return self._matching_enrolments(criterion).select("user_id").distinct()
            case FirstInstalledIn():
                e = self.enrolments
                if criterion.service_kinds:
                    e = e.filter(
                        e.service_kind.isin(sorted(k.value for k in criterion.service_kinds))
                    )
                first = (
                    e.filter(e.installed_on.notnull())
                    .group_by("user_id")
                    .agg(first=e.installed_on.min())
                )
                start, end = self.window(criterion.window)
                return first.filter(first.first >= start, first.first <= end).select("user_id")
            case ContactsAtLeast():
                c = self._contacts(criterion)
                per_user = c.group_by("user_id").agg(n=c.count())
                return per_user.filter(per_user.n >= criterion.count).select("user_id")
            case SectorsAtLeast():
                e = self._matching_enrolments(criterion)
                per_user = e.group_by("user_id").agg(n=e.sector.nunique())
                return per_user.filter(per_user.n >= criterion.count).select("user_id")
            case HasCondition():
                # One array-contains test per code: every backend has it (Polars has no
                # array filter).
                u = self.users
                hit = ibis.or_(*[u.conditions.contains(c) for c in sorted(criterion.conditions)])
                return u.filter(hit).select("user_id")
            case RiskAtLeast():
                u = self.users
                return u.filter(u.risk_score >= criterion.threshold).select("user_id")
            case RiskInTopPercent():
                return self._top_percent(criterion.percent)
            case MemberOf():
                return self._members_of(criterion.definition)
            case Query():
                try:
                    result = criterion.resolve()(self.dataset.tables, self.period)
                    # A NULL among the ids would make "user_id IN (...)" NULL, not false,
                    # for every user the query did not return.
                    passed = result.select("user_id")
                    return passed.filter(passed.user_id.notnull()).distinct()
                except Exception as error:
                    raise EvaluationError(
                        f"query criterion {criterion.function} failed: {error}"
                    ) from error
        raise EvaluationError(f"no compiler for criterion {criterion!r}")  # pragma: no cover

    def _top_percent(self, percent: float) -> ir.Table:
        """Users with fewer than ``percent/100 × N`` scored users strictly above them.

        That is every user scoring at least the m-th highest score, m being the number
        of whole h with ``h × 100 < percent × N`` (computed in Python floats, as the
        reference evaluator does). Without window functions, so any backend runs it.
        """
        scored = self.users.filter(self.users.risk_score.notnull())
        n = int(scored.count().execute())
        bound = percent * n
        m = min(math.ceil(bound / 100), n)
        while m > 0 and (m - 1) * 100 >= bound:
            m -= 1
        while m < n and m * 100 < bound:
            m += 1
        if m == 0:
            return scored.select("user_id").limit(0)
        threshold = (
            scored.order_by(ibis.desc("risk_score"))
            .limit(1, offset=m - 1)
            .select(_threshold="risk_score")
        )
        joined = scored.cross_join(threshold)
        return joined.filter(joined.risk_score >= joined._threshold).select("user_id")

    def enrolment_contrib(self, criterion: Criterion) -> ir.Table | None:
        """The enrolments that contribute to ``criterion`` (``enrolment_id``, ``user_id``)."""
        match criterion:
            case EnrolmentOverlaps() | ReferredIn() | InstalledIn() | SectorsAtLeast():
                return self._matching_enrolments(criterion).select("enrolment_id", "user_id")
            case FirstInstalledIn():
                return self._matching_enrolments(criterion).select("enrolment_id", "user_id")
            case ContactsAtLeast():
                return self._contacts(criterion).select("enrolment_id", "user_id").distinct()
        return None

    def enrolment_pass(self, criterion: Criterion) -> ir.Table:
        """For enrolment-unit definitions: the enrolments passing ``criterion``."""
        match criterion:
            case EnrolmentOverlaps() | ReferredIn() | InstalledIn():
                return self._matching_enrolments(criterion).select("enrolment_id")
            case ContactsAtLeast():
                c = self._contacts(criterion)
                per = c.group_by("enrolment_id").agg(n=c.count())
                return per.filter(per.n >= criterion.count).select("enrolment_id")
        users = self.user_pass(criterion)
        e = self.enrolments
        return e.filter(e.user_id.isin(users.user_id)).select("enrolment_id")

    def _members_of(self, name: str) -> ir.Table:
        if self.resolve is None:
            raise EvaluationError(f"member-of {name!r} needs a registry to look the definition up")
        if name in self._stack:
            cycle = " -> ".join([*self._stack, name])
            raise EvaluationError(f"definitions refer to each other in a cycle: {cycle}")
        definition = self.resolve(name)
        self._stack.append(name)
        try:
            if definition.unit is Unit.ENROLMENTS:
                e = self.enrolments
                for criterion in definition.criteria:
                    e = e.filter(e.enrolment_id.isin(self.enrolment_pass(criterion).enrolment_id))
                return e.select("user_id").distinct()
            u = self.users
            for criterion in definition.criteria:
                u = u.filter(u.user_id.isin(self.user_pass(criterion).user_id))
            return u.select("user_id")
        finally:
            self._stack.pop()


def count(
    definition: CountingDefinition,
    dataset: Dataset,
    period: Period | str,
    *,
    by: Sequence[str] = ("area",),
    registry: Any = None,
) -> CountResult:
    """Evaluate one counting definition; see :func:`count_many`."""
    return count_many([definition], dataset, period, by=by, registry=registry)[definition.name]


def count_many(
    definitions: Iterable[CountingDefinition],
    dataset: Dataset,
    period: Period | str,
    *,
    by: Sequence[str] = ("area",),
    registry: Any = None,
) -> dict[str, CountResult]:
    """Evaluate several definitions on one dataset and period, sharing their criteria.

    ``by`` names the breakdowns: any column of the users table, ``service_kind``
    or ``sector``. ``registry`` resolves ``member-of`` criteria by name.
    """
    period = Period.parse(period) if isinstance(period, str) else period
    definitions = list(definitions)
    _check_breakdowns(by)
    resolve = registry.counting if registry is not None else None
    compiler = Compiler(dataset, period, resolve)
    results: dict[str, CountResult] = {}
    for unit in Unit:
        mine = [d for d in definitions if d.unit is unit]
        if mine:
            results.update(_evaluate_unit(compiler, mine, unit, by))
    return {d.name: results[d.name] for d in definitions}


def _check_breakdowns(by: Sequence[str]) -> None:
    allowed = [*TABLES["users"].column_names, *ENROLMENT_BREAKDOWNS]
    allowed.remove("user_id")
    allowed.remove("conditions")
    for name in by:
        if name not in allowed:
            raise EvaluationError(
                f"cannot break down by {name!r}; choose from {', '.join(allowed)}"
            )


def _distinct_criteria(definitions: Sequence[CountingDefinition]) -> dict[Criterion, str]:
    columns: dict[Criterion, str] = {}
    for definition in definitions:
        for criterion in definition.criteria:
            columns.setdefault(criterion, f"c{len(columns)}")
    return columns


def _materialise(dataset: Dataset, expr: ir.Table, stem: str) -> ir.Table:
    backend = dataset.backend
    if getattr(backend, "name", None) == "duckdb":
        name = f"_{stem}_{next(_COUNTER)}"
        return backend.create_table(name, expr, temp=True)
    return expr


_COUNTER = itertools.count()


def _evaluate_unit(
    compiler: Compiler, definitions: list[CountingDefinition], unit: Unit, by: Sequence[str]
) -> dict[str, CountResult]:
    columns = _distinct_criteria(definitions)
    user_columns = [b for b in by if b not in ENROLMENT_BREAKDOWNS]
    if unit is Unit.USERS:
        base = compiler.users.select("user_id", *user_columns)
        flags = base.mutate(
            **{
                name: base.user_id.isin(compiler.user_pass(c).user_id)
                for c, name in columns.items()
            }
        )
        key = "user_id"
    else:
        users = compiler.users.select(*user_columns, _uid="user_id")
        e = compiler.enrolments
        joined = e.left_join(users, e.user_id == users._uid)
        base = joined.select("enrolment_id", "user_id", *user_columns)
        flags = base.mutate(
            **{
                name: base.enrolment_id.isin(compiler.enrolment_pass(c).enrolment_id)
                for c, name in columns.items()
            }
        )
        key = "enrolment_id"
    flags = _materialise(compiler.dataset, flags, "flags")
    results = {}
    for definition in definitions:
        names = [columns[c] for c in definition.criteria]
        results[definition.name] = _result(compiler, definition, flags, names, key, by)
    return results


def _all(flags: ir.Table, names: Sequence[str]) -> ir.BooleanValue:
    """True where every named criterion column is true (and on every row when none is named)."""
    expr = flags[names[0]] if names else flags[flags.columns[0]].notnull() | True
    for name in names[1:]:
        expr &= flags[name]
    return expr


def _result(
    compiler: Compiler,
    definition: CountingDefinition,
    flags: ir.Table,
    names: list[str],
    key: str,
    by: Sequence[str],
) -> CountResult:
    aggregates: dict[str, ir.Value] = {
        "_considered": flags.count(),
        "_count": _all(flags, names).sum(),
    }
    for i in range(len(names)):
        aggregates[f"_seq{i}"] = _all(flags, names[: i + 1]).sum()
        aggregates[f"_loo{i}"] = _all(flags, names[:i] + names[i + 1 :]).sum()
    members = flags.filter(_all(flags, names))
    aggregates_row = flags.aggregate(**aggregates).to_pyarrow().to_pylist()[0]
    total = int(aggregates_row["_count"] or 0)
    steps = []
    previous = int(aggregates_row["_considered"])
    for i, criterion in enumerate(definition.criteria):
        remaining = int(aggregates_row[f"_seq{i}"] or 0)
        steps.append(
            AttritionStep(
                index=i + 1,
                criterion=criterion.describe(),
                remaining=remaining,
                excluded=previous - remaining,
                leave_one_out=int(aggregates_row[f"_loo{i}"] or 0) - total,
            )
        )
        previous = remaining
    contributing = _records(compiler, definition, members)
    if key == "user_id":
        users = total
        records = int(contributing.count().execute())
    else:
        users = int(members.user_id.nunique().execute())
        records = total
    breakdowns = {name: _breakdown(members, contributing, name, key) for name in by}
    first_failed = ibis.cases(
        *[(~flags[name], i + 1) for i, name in enumerate(names)], else_=ibis.null("int64")
    )
    id_columns = ["enrolment_id", "user_id"] if key == "enrolment_id" else ["user_id"]
    membership_expr = flags.select(
        *id_columns, counted=_all(flags, names), first_failed=first_failed
    ).order_by(id_columns)
    return CountResult(
        definition=definition,
        period=compiler.period,
        count=total,
        users=users,
        records=records,
        considered=int(aggregates_row["_considered"]),
        attrition=tuple(steps),
        breakdowns=breakdowns,
        membership=membership_expr.to_pyarrow,
    )


def _records(compiler: Compiler, definition: CountingDefinition, members: ir.Table) -> ir.Table:
    """The enrolments behind the count: ``enrolment_id``, ``user_id``, kind and sector."""
    e = compiler.enrolments
    if definition.unit is Unit.ENROLMENTS:
        return e.filter(e.enrolment_id.isin(members.enrolment_id))
    parts = [p for c in definition.criteria if (p := compiler.enrolment_contrib(c)) is not None]
    mine = e.filter(e.user_id.isin(members.user_id))
    if not parts:
        return mine
    ids = ibis.union(*[p.select("enrolment_id") for p in parts], distinct=True)
    return mine.filter(mine.enrolment_id.isin(ids.enrolment_id))


def _breakdown(
    members: ir.Table, records: ir.Table, name: str, key: str
) -> tuple[BreakdownRow, ...]:
    if name in ENROLMENT_BREAKDOWNS:
        column = "service_kind" if name == "service_kind" else "sector"
        counted = records.group_by(column).agg(n=records[key].nunique())
    else:
        counted = members.group_by(name).agg(n=members.count())
        column = name
    rows = counted.to_pyarrow().to_pylist()
    rows.sort(key=lambda row: (row[column] is None, str(row[column])))
    return tuple(BreakdownRow(value=row[column], count=int(row["n"])) for row in rows)


def breakdown_total(rows: Mapping[str, Any]) -> int:  # pragma: no cover - convenience
    return sum(row.count for row in rows)

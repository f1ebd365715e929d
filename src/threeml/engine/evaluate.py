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

import attrs
import ibis
import ibis.expr.types as ir

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
from threeml.engine.results import AttritionStep, BreakdownRow, CountResult
from threeml.errors import ThreemlError
from threeml.records.codes import Sector, Unit
from threeml.records.periods import Period
from threeml.records.schema import TABLES

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

    def _enrolment_match(self, e: ir.Table, criterion: Any) -> ir.BooleanValue:
        """Whether each enrolment row passes the criterion's own test (kinds, sectors, dates)."""
        match = ibis.literal(True)
        if getattr(criterion, "service_kinds", None):
            match &= e.service_kind.isin(sorted(k.value for k in criterion.service_kinds))
        if getattr(criterion, "sectors", None):
            match &= e.sector.isin(sorted(s.value for s in criterion.sectors))
        start, end = self.window(criterion.window)
        match criterion:
            case EnrolmentOverlaps() | SectorsAtLeast():
                match &= (
                    e.installed_on.notnull()
                    & (e.installed_on <= end)
                    & (e.ended_on.isnull() | (e.ended_on >= start))
                )
            case ReferredIn():
                match &= (e.referred_on >= start) & (e.referred_on <= end)
            case InstalledIn() | FirstInstalledIn():
                match &= (e.installed_on >= start) & (e.installed_on <= end)
        return match.fill_null(False)

    def enrolment_facts(
        self, criteria: Sequence[Criterion]
    ) -> tuple[ir.Table, dict[Criterion, str]]:
        """One row per enrolment with a column per enrolment criterion.

        The column holds whether the enrolment contributes (has-enrolment family,
        sectors, first installation), or how many counting contacts of the
        criterion it has (contacts). Every contact criterion is counted in one
        group-by over the contacts, read once and only for the dates the windows need.
        """
        e = self.enrolments
        names = {c: f"m{j}" for j, c in enumerate(criteria)}
        contact_criteria = [c for c in criteria if isinstance(c, ContactsAtLeast)]
        own = {
            names[c]: self._enrolment_match(e, c)
            for c in criteria
            if not isinstance(c, ContactsAtLeast)
        }
        for c in criteria:
            if isinstance(c, FirstInstalledIn):
                kinds = sorted(k.value for k in c.service_kinds)
                of_kind = e.installed_on.notnull()
                if kinds:
                    of_kind &= e.service_kind.isin(kinds)
                own[f"{names[c]}_kind"] = of_kind
        facts = e.mutate(**own)
        if not contact_criteria:
            return facts, names
        windows = [c.window.resolve(self.period) for c in contact_criteria]
        contacts = self.counting_contacts
        contacts = contacts.filter(
            contacts.date >= _lit(min(w.start for w in windows)),
            contacts.date <= _lit(max(w.end for w in windows)),
        )
        counts = {}
        for c in contact_criteria:
            start, end = self.window(c.window)
            wanted = (contacts.date >= start) & (contacts.date <= end)
            if c.contact_kinds:
                wanted &= contacts.kind.isin(sorted(k.value for k in c.contact_kinds))
            if c.service_kinds:
                wanted &= contacts.service_kind.isin(sorted(k.value for k in c.service_kinds))
            counts[names[c]] = wanted.sum()
        per_enrolment = contacts.group_by("enrolment_id").agg(**counts)
        per_enrolment = per_enrolment.rename(_eid="enrolment_id")
        joined = facts.left_join(per_enrolment, facts.enrolment_id == per_enrolment._eid)
        joined = joined.drop("_eid")
        return (
            joined.mutate(**{names[c]: joined[names[c]].fill_null(0) for c in contact_criteria}),
            names,
        )

    def contributes(self, facts: ir.Table, criterion: Criterion, name: str) -> ir.BooleanValue:
        """Whether each enrolment of ``facts`` contributes to ``criterion``."""
        if isinstance(criterion, ContactsAtLeast):
            return facts[name] > 0
        return facts[name]

    def user_flags(
        self,
        facts: ir.Table,
        fact_names: Mapping[Criterion, str],
        columns: Mapping[Criterion, str],
        user_columns: Sequence[str],
    ) -> ir.Table:
        """One row per user with a boolean column per criterion (named by ``columns``)."""
        per_user: dict[str, ir.Value] = {}
        for c, m in fact_names.items():
            match c:
                case ContactsAtLeast():
                    per_user[m] = facts[m].sum() >= c.count
                case SectorsAtLeast():
                    # One "any enrolment in this sector" per sector, summed: a distinct count
                    # without DISTINCT, which is much cheaper to group.
                    sectors = [
                        (facts[m] & (facts.sector == sector.value)).any().cast("int64")
                        for sector in Sector
                    ]
                    per_user[m] = sum(sectors[1:], sectors[0]) >= c.count
                case FirstInstalledIn():
                    start, end = self.window(c.window)
                    first = facts.installed_on.min(where=facts[f"{m}_kind"])
                    per_user[m] = (first >= start) & (first <= end)
                case _:
                    per_user[m] = facts[m].any()
        users = self.users
        flags: dict[str, ir.Value] = {}
        if per_user:
            grouped = facts.group_by("user_id").agg(**per_user).rename(_uid="user_id")
            users = users.left_join(grouped, users.user_id == grouped._uid)
        for c, name in columns.items():
            if c in fact_names:
                flags[name] = users[fact_names[c]].fill_null(False)
            else:
                flags[name] = self._user_level(users, c)
        return users.select("user_id", *user_columns, **flags)

    def _user_level(self, users: ir.Table, criterion: Criterion) -> ir.BooleanValue:
        match criterion:
            case HasCondition():
                codes = sorted(criterion.conditions)
                return ibis.or_(*[users.conditions.contains(code) for code in codes]).fill_null(
                    False
                )
            case RiskAtLeast():
                return (users.risk_score >= criterion.threshold).fill_null(False)
        return users.user_id.isin(self.user_pass(criterion).user_id)

    def enrolment_flags(
        self,
        facts: ir.Table,
        fact_names: Mapping[Criterion, str],
        user_flags: ir.Table,
        columns: Mapping[Criterion, str],
        user_columns: Sequence[str],
    ) -> ir.Table:
        """One row per enrolment with a boolean column per criterion, for enrolment units.

        The has-enrolment family and contacts test the enrolment itself; every other
        criterion is about its user.
        """
        owners = user_flags.select(*user_columns, *columns.values(), _uid="user_id")
        owners = owners.rename(**{f"_u_{n}": n for n in columns.values()})
        joined = facts.left_join(owners, facts.user_id == owners._uid)
        flags: dict[str, ir.Value] = {}
        for c, name in columns.items():
            match c:
                case EnrolmentOverlaps() | ReferredIn() | InstalledIn():
                    flags[name] = joined[fact_names[c]]
                case ContactsAtLeast():
                    flags[name] = joined[fact_names[c]] >= c.count
                case _:
                    flags[name] = joined[f"_u_{name}"].fill_null(False)
        return joined.select(
            "enrolment_id", "user_id", "service_kind", "sector", *user_columns, **flags
        )

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
    columns = _distinct_criteria(definitions)
    user_columns = [b for b in by if b not in ENROLMENT_BREAKDOWNS]
    facts, fact_names = compiler.enrolment_facts([c for c in columns if c.about_enrolments])
    facts = _materialise(dataset, facts, "facts")
    user_flags = _materialise(
        dataset, compiler.user_flags(facts, fact_names, columns, user_columns), "users"
    )
    shared = _Shared(facts, fact_names, columns, user_flags, user_columns)
    results: dict[str, CountResult] = {}
    for unit in Unit:
        mine = [d for d in definitions if d.unit is unit]
        if mine:
            results.update(_evaluate_unit(compiler, mine, unit, by, shared))
    return {d.name: results[d.name] for d in definitions}


@attrs.frozen
class _Shared:
    """What every definition of one evaluation reads: enrolment facts and user flags."""

    facts: ir.Table
    fact_names: Mapping[Criterion, str]
    columns: Mapping[Criterion, str]
    user_flags: ir.Table
    user_columns: Sequence[str]


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
    compiler: Compiler,
    definitions: list[CountingDefinition],
    unit: Unit,
    by: Sequence[str],
    shared: _Shared,
) -> dict[str, CountResult]:
    """Evaluate definitions of one unit with a handful of queries shared by all of them.

    The flags table holds a boolean column per distinct criterion; one aggregate
    over it gives every count and both attrition forms; one table of enrolments with
    their owner's flags (users) gives every definition's records; one group-by per
    breakdown gives every definition's breakdown.
    """
    columns = shared.columns
    if unit is Unit.USERS:
        flags = shared.user_flags
        key = "user_id"
    else:
        flags = _materialise(
            compiler.dataset,
            compiler.enrolment_flags(
                shared.facts, shared.fact_names, shared.user_flags, columns, shared.user_columns
            ),
            "enrolments",
        )
        key = "enrolment_id"
    names = {d.name: [columns[c] for c in d.criteria] for d in definitions}
    figures = _figures(flags, definitions, names)
    if unit is Unit.USERS:
        records_table, contributes = _user_records(compiler, shared, definitions)
        records = _aggregate(
            records_table,
            {
                f"r{k}": (_all(records_table, names[d.name]) & contributes[d.name]).sum()
                for k, d in enumerate(definitions)
            },
        )
        users_counted = {d.name: figures[d.name]["count"] for d in definitions}
        records_counted = {d.name: records[f"r{k}"] for k, d in enumerate(definitions)}
    else:
        records_table = flags
        contributes = {d.name: ibis.literal(True) for d in definitions}
        people = _aggregate(
            flags,
            {
                f"u{k}": flags.user_id.nunique(where=_all(flags, names[d.name]))
                for k, d in enumerate(definitions)
            },
        )
        users_counted = {d.name: people[f"u{k}"] for k, d in enumerate(definitions)}
        records_counted = {d.name: figures[d.name]["count"] for d in definitions}
    breakdowns: dict[str, dict[str, tuple[BreakdownRow, ...]]] = {d.name: {} for d in definitions}
    for name in by:
        per_definition = _breakdowns(
            flags, records_table, contributes, definitions, names, name, key
        )
        for definition in definitions:
            breakdowns[definition.name][name] = per_definition[definition.name]
    results = {}
    for definition in definitions:
        mine = names[definition.name]
        results[definition.name] = _result(
            compiler,
            definition,
            figures[definition.name],
            users_counted[definition.name],
            records_counted[definition.name],
            breakdowns[definition.name],
            _membership(flags, mine, key),
        )
    return results


def _all(flags: ir.Table, names: Sequence[str]) -> ir.BooleanValue:
    """True where every named criterion column is true (and on every row when none is named)."""
    expr = flags[names[0]] if names else flags[flags.columns[0]].notnull() | True
    for name in names[1:]:
        expr &= flags[name]
    return expr


def _aggregate(table: ir.Table, metrics: Mapping[str, ir.Value]) -> dict[str, int]:
    """One aggregate query; NULL sums (no rows) read as 0."""
    row = table.aggregate(**metrics).to_pyarrow().to_pylist()[0]
    return {name: int(value or 0) for name, value in row.items()}


def _figures(
    flags: ir.Table, definitions: Sequence[CountingDefinition], names: Mapping[str, list[str]]
) -> dict[str, dict[str, Any]]:
    """Every definition's count and both attrition forms, from one pass over the flags."""
    metrics: dict[str, ir.Value] = {"_considered": flags.count()}
    for k, definition in enumerate(definitions):
        mine = names[definition.name]
        metrics[f"d{k}_n"] = _all(flags, mine).sum()
        for i in range(len(mine)):
            metrics[f"d{k}_s{i}"] = _all(flags, mine[: i + 1]).sum()
            metrics[f"d{k}_l{i}"] = _all(flags, mine[:i] + mine[i + 1 :]).sum()
    row = _aggregate(flags, metrics)
    figures = {}
    for k, definition in enumerate(definitions):
        total = row[f"d{k}_n"]
        previous = row["_considered"]
        steps = []
        for i, criterion in enumerate(definition.criteria):
            remaining = row[f"d{k}_s{i}"]
            steps.append(
                AttritionStep(
                    index=i + 1,
                    criterion=criterion.describe(),
                    remaining=remaining,
                    excluded=previous - remaining,
                    leave_one_out=row[f"d{k}_l{i}"] - total,
                )
            )
            previous = remaining
        figures[definition.name] = {
            "count": total,
            "considered": row["_considered"],
            "attrition": tuple(steps),
        }
    return figures


def _user_records(
    compiler: Compiler, shared: _Shared, definitions: Sequence[CountingDefinition]
) -> tuple[ir.Table, dict[str, ir.BooleanValue]]:
    """Enrolments with their owner's criterion flags and, per enrolment criterion, whether
    the enrolment contributes to it; and per definition, which enrolments are its records.

    A definition's records are the enrolments of its members that contribute to at least
    one of its enrolment criteria (all their enrolments when it has none).
    """
    facts, columns = shared.facts, shared.columns
    contributing = {c: f"k{m[1:]}" for c, m in shared.fact_names.items()}
    e = facts.select(
        "enrolment_id",
        "user_id",
        "service_kind",
        "sector",
        **{
            contributing[c]: compiler.contributes(facts, c, m) for c, m in shared.fact_names.items()
        },
    )
    owners = shared.user_flags.select(*columns.values(), _owner="user_id")
    joined = e.inner_join(owners, e.user_id == owners._owner).drop("_owner")
    table = _materialise(compiler.dataset, joined, "records")
    contributes = {}
    for definition in definitions:
        mine = [table[contributing[c]] for c in definition.criteria if c in contributing]
        contributes[definition.name] = ibis.or_(*mine) if mine else ibis.literal(True)
    return table, contributes


def _breakdowns(
    flags: ir.Table,
    records: ir.Table,
    contributes: Mapping[str, ir.BooleanValue],
    definitions: Sequence[CountingDefinition],
    names: Mapping[str, list[str]],
    name: str,
    key: str,
) -> dict[str, tuple[BreakdownRow, ...]]:
    """Every definition's breakdown by ``name`` from one group-by.

    By a user column: units counted per group (they partition the count). By service
    kind or sector: distinct units per kind among the records behind the count.
    """
    if name in ENROLMENT_BREAKDOWNS:
        table = records
        metrics = {
            f"d{k}": table[key].nunique(where=_all(table, names[d.name]) & contributes[d.name])
            for k, d in enumerate(definitions)
        }
    else:
        table = flags
        metrics = {f"d{k}": _all(table, names[d.name]).sum() for k, d in enumerate(definitions)}
    rows = table.group_by(name).agg(**metrics).to_pyarrow().to_pylist()
    rows.sort(key=lambda row: (row[name] is None, str(row[name])))
    return {
        d.name: tuple(
            BreakdownRow(value=row[name], count=int(row[f"d{k}"] or 0))
            for row in rows
            if row[f"d{k}"]
        )
        for k, d in enumerate(definitions)
    }


def _membership(flags: ir.Table, names: list[str], key: str) -> Any:
    first_failed = ibis.cases(
        *[(~flags[name], i + 1) for i, name in enumerate(names)], else_=ibis.null("int64")
    )
    id_columns = ["enrolment_id", "user_id"] if key == "enrolment_id" else ["user_id"]
    return (
        flags.select(*id_columns, counted=_all(flags, names), first_failed=first_failed)
        .order_by(id_columns)
        .to_pyarrow
    )


def _result(
    compiler: Compiler,
    definition: CountingDefinition,
    figures: Mapping[str, Any],
    users: int,
    records: int,
    breakdowns: Mapping[str, tuple[BreakdownRow, ...]],
    membership: Any,
) -> CountResult:
    return CountResult(
        definition=definition,
        period=compiler.period,
        count=figures["count"],
        users=users,
        records=records,
        considered=figures["considered"],
        attrition=figures["attrition"],
        breakdowns=breakdowns,
        membership=membership,
    )

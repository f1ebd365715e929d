"""Members-only counting (:func:`threeml.engine.membership.count_members`) against the full count.

A metric's population needs only its members (and, for progress to target, counts by group):
the lean count must give exactly the members, the count and every breakdown of
:func:`~threeml.engine.evaluate.count_many`, for every standard definition, on random
synthetic extracts, and must not build the records table or attrition.
"""

from __future__ import annotations

import pytest
import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threeml.data import Dataset
from threeml.data.synth import synthesise
from threeml.engine.evaluate import count_many
from threeml.engine.membership import Members, count_members, count_members_periods
from threeml.engine.results import CountResult
from threeml.plugins.registry import default_registry
from threeml.records.codes import Unit
from threeml.records.periods import Period

PERIOD = Period.parse("FY2013/14")


@pytest.mark.parametrize(("seed", "by"), [(5, ("area",)), (29, ("area", "age_band", "sex"))])
def test_members_and_counts_equal_the_full_count(tmp_path, seed, by) -> None:
    synthesise(tmp_path, users=300, seed=seed, areas=3)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definitions = list(registry.counting_definitions())
    full = count_many(definitions, dataset, PERIOD, by=by, registry=registry)
    lean = count_members(definitions, dataset, PERIOD, by=by, registry=registry)
    assert any(d.unit is Unit.USERS for d in definitions)
    for definition in definitions:
        expected, found = full[definition.name], lean[definition.name]
        if definition.unit is Unit.USERS:
            assert isinstance(found, Members), definition.name
        else:  # counted the full way: enrolment counts need the enrolments
            assert isinstance(found, CountResult), definition.name
        assert found.count == expected.count, definition.name
        assert found.users == expected.users, definition.name
        assert dict(found.breakdowns) == {
            name: tuple(rows) for name, rows in expected.breakdowns.items()
        }, definition.name
        members = set(found.members_expr().to_pyarrow()["user_id"].to_pylist())
        assert members == set(expected.members_expr().to_pyarrow()["user_id"].to_pylist())


def test_an_enrolment_breakdown_is_counted_the_full_way(tmp_path) -> None:
    synthesise(tmp_path, users=100, seed=3, areas=2)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definition = registry.counting("in-receipt")
    found = count_members([definition], dataset, PERIOD, by=("sector",), registry=registry)
    expected = count_many([definition], dataset, PERIOD, by=("sector",), registry=registry)
    assert isinstance(found["in-receipt"], CountResult)
    assert found["in-receipt"].breakdowns == expected["in-receipt"].breakdowns


def test_a_lean_count_builds_no_records_or_attrition(tmp_path, monkeypatch) -> None:
    import threeml.engine.evaluate as evaluate_module

    synthesise(tmp_path, users=100, seed=7, areas=2)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()

    def refused(*args, **kwargs):
        raise AssertionError("the members-only count built records or attrition")

    monkeypatch.setattr(evaluate_module, "_user_records", refused)
    monkeypatch.setattr(evaluate_module, "figure_sums", refused)
    found = count_members(
        [registry.counting("in-receipt")], dataset, PERIOD, by=("area",), registry=registry
    )
    assert found["in-receipt"].count > 0


@pytest.mark.parametrize(
    ("span", "every", "by"),
    # One user breakdown over months in order is where the one pass goes by runs of months
    # (three of them: every member set of every interval is read back one by one).
    [
        ("2013-01-01:2013-12-31", "quarter", ("area", "age_band")),
        ("2013-01-01:2013-03-31", "month", ("area",)),
    ],
)
def test_series_members_and_counts_equal_the_full_series(tmp_path, span, every, by) -> None:
    from threeml.engine.membership_series import count_members_series
    from threeml.engine.series import count_series
    from threeml.records.intervals import split

    synthesise(tmp_path, users=300, seed=41, areas=3)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definitions = list(registry.counting_definitions())
    intervals = split(Period.parse(span), every)
    full = count_series(definitions, dataset, intervals, by=by, registry=registry)
    lean = count_members_series(definitions, dataset, intervals, by=by, registry=registry)
    assert any(isinstance(r[0], Members) for r in lean.values())
    for definition in definitions:
        for expected, found in zip(full[definition.name], lean[definition.name], strict=True):
            assert found.period == expected.period
            assert found.count == expected.count, definition.name
            assert dict(found.breakdowns) == dict(expected.breakdowns), definition.name
            members = set(found.members_expr().to_pyarrow()["user_id"].to_pylist())
            assert members == set(expected.members_expr().to_pyarrow()["user_id"].to_pylist())
            if isinstance(found, Members):
                # Each interval's breakdown groups, read from the stored members, are the
                # interval's own (an age band at the interval's end), as a metric's join of
                # the users table gives them.
                assert _grouped_rows(found.grouped_expr()) == _users_grouping(dataset, found, by), (
                    definition.name
                )


def _grouped_rows(table) -> set[tuple]:
    return {tuple(row.values()) for row in table.to_pyarrow().to_pylist()}


def _users_grouping(dataset: Dataset, found: Members, by) -> set[tuple]:
    from threeml.engine.breakdowns import breakdown_value

    users = dataset.table("users")
    columns = users.select(
        "user_id", **{f"_by_{b}": breakdown_value(users, b, found.period) for b in by}
    )
    members = found.members_expr()
    joined = members.inner_join(columns, "user_id")
    return _grouped_rows(joined.select("user_id", *[f"_by_{b}" for b in by]))


def test_a_series_members_count_keeps_only_its_members_in_the_engine(tmp_path) -> None:
    """The one pass's (enrolment, interval) and (user, interval) tables are dropped once
    the members are stored: at national scale they would crowd the engine's memory."""
    from threeml.engine.membership_series import count_members_series
    from threeml.records.intervals import split

    synthesise(tmp_path, users=120, seed=43, areas=2)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definitions = [registry.counting("telehealth"), registry.counting("in-receipt")]
    intervals = split(Period.parse("2013-01-01:2013-12-31"), "quarter")
    con = dataset.backend.con

    def temporary() -> int:
        return con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0]

    before = temporary()
    lean = count_members_series(definitions, dataset, intervals, by=("area",), registry=registry)
    assert all(isinstance(r, Members) for results in lean.values() for r in results)
    assert temporary() - before == 1  # the members, with a column per definition


def test_a_members_only_count_still_answers_what_a_full_count_has(tmp_path) -> None:
    """A measure kind written against CountResult may read attrition and records from its
    population: the definition is then counted the full way, once, with the full figures."""
    synthesise(tmp_path, users=150, seed=11, areas=2)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definition = registry.counting("telehealth")
    members = count_members([definition], dataset, PERIOD, registry=registry)[definition.name]
    full = count_many([definition], dataset, PERIOD, registry=registry)[definition.name]
    assert isinstance(members, Members)
    assert members.attrition == full.attrition
    assert members.records == full.records
    assert members.considered == full.considered
    with pytest.raises(AttributeError):
        members.no_such_figure  # noqa: B018


def _mixed_dataset() -> Dataset:
    """Users at the edges of the rows a members-only count groups (``needed_rows``)."""
    from threeml.records.rows import Contact, Enrolment, Service, User

    services = [
        Service("th", "telehealth", "health", "A"),
        Service("tc", "telecare", "social_care", "A"),
        Service("hs", "telecare", "housing", "A"),
    ]
    users = [User(f"u{i}", "A" if i % 2 else "B") for i in range(1, 8) if i != 3]
    users.append(User("u3", "C", conditions=["copd"]))
    enrolments = [
        # u1: first telehealth installation before the period, another in it: not first-in.
        Enrolment("e1", "u1", "th", installed_on="2012-06-01", ended_on="2012-12-31"),
        Enrolment("e2", "u1", "th", installed_on="2013-06-01"),
        # u2: first telehealth installation in the period, telecare overlapping it.
        Enrolment("e3", "u2", "th", installed_on="2013-05-01"),
        Enrolment("e4", "u2", "tc", installed_on="2011-01-01"),
        # u3: telecare ended before the period (no row needed), housing telecare overlapping.
        Enrolment("e5", "u3", "tc", installed_on="2011-01-01", ended_on="2012-01-01"),
        Enrolment("e6", "u3", "hs", installed_on="2012-01-01"),
        # u4: never installed.
        Enrolment("e7", "u4", "th", referred_on="2013-05-01"),
        # u5: readings on an enrolment outside the period's window, none counting.
        Enrolment("e8", "u5", "th", installed_on="2010-01-01", ended_on="2013-01-01"),
        # u6: five readings in the period on telehealth, two sectors.
        Enrolment("e9", "u6", "th", installed_on="2013-04-01"),
        Enrolment("e10", "u6", "hs", installed_on="2013-04-01"),
    ]
    contacts = [Contact("u5", "e8", f"2013-0{m}-01", "reading") for m in range(4, 9)]
    contacts += [Contact("u6", "e9", f"2013-0{m}-02", "reading") for m in range(4, 9)]
    return Dataset.from_records(
        users=users, services=services, enrolments=enrolments, contacts=contacts
    )


def test_members_only_counts_read_only_needed_rows_and_equal_the_full_count() -> None:
    """A definition mixing criteria whose user verdicts read different enrolments (the
    earliest installation of a kind, any overlap, a sum of contacts, distinct sectors) is
    counted the same when a members-only count groups only the rows some criterion needs."""
    from threeml.definitions import CountingDefinition
    from threeml.definitions.criteria import (
        ContactsAtLeast,
        EnrolmentOverlaps,
        FirstInstalledIn,
        HasCondition,
        SectorsAtLeast,
    )

    def definition(name: str, *criteria) -> CountingDefinition:
        return CountingDefinition(name, "1", name, "A test definition.", criteria)

    definitions = [
        definition("first-th", FirstInstalledIn(service_kinds=["telehealth"])),
        definition(
            "first-th-with-tc",
            FirstInstalledIn(service_kinds=["telehealth"]),
            EnrolmentOverlaps(service_kinds=["telecare"]),
        ),
        definition("two-sectors", SectorsAtLeast(count=2)),
        definition("readings", ContactsAtLeast(count=4, contact_kinds=["reading"])),
        definition("overlap-and-condition", EnrolmentOverlaps(), HasCondition(["copd"])),
    ]
    dataset = _mixed_dataset()
    full = count_many(definitions, dataset, PERIOD, by=("area",))
    lean = count_members(definitions, dataset, PERIOD, by=("area",))
    expected_members = {
        "first-th": {"u2", "u6"},
        "first-th-with-tc": {"u2", "u6"},
        "two-sectors": {"u2", "u6"},
        "readings": {"u6"},
        "overlap-and-condition": {"u3"},
    }
    for d in definitions:
        found = set(lean[d.name].members_expr().to_pyarrow()["user_id"].to_pylist())
        assert found == expected_members[d.name], d.name
        assert found == set(full[d.name].members_expr().to_pyarrow()["user_id"].to_pylist())
        assert lean[d.name].count == full[d.name].count, d.name
        assert dict(lean[d.name].breakdowns) == dict(full[d.name].breakdowns), d.name


#: Periods overlapping every way: nested with one start (a trend's start), crossing, a single
#: day, one ending where another starts, and apart.
PERIODS = (
    PERIOD,
    Period.parse("2013-04-01:2013-12-30"),
    Period.parse("2013-10-01:2014-06-30"),
    Period.parse("2013-04-01:2013-04-01"),
    Period.parse("2012-04-01:2013-04-01"),
    Period.parse("2014-01-01:2014-03-31"),
)

#: The users columns the one-pass tests carry with the members.
CARRY = ("sex", "birth_year", "area")


def _assert_each_period_alone(dataset, definitions, periods, by, registry=None) -> None:
    """Counting every (definition, period) in one pass gives each pair the count, breakdowns,
    members and carried users columns of counting its period alone."""
    wanted = [(d, p) for d in definitions for p in periods]
    together = count_members_periods(wanted, dataset, by=by, registry=registry, carry=CARRY)
    assert set(together) == {(d.name, p) for d, p in wanted}
    users = dataset.table("users").select("user_id", *CARRY).to_pyarrow().to_pylist()
    columns = {row["user_id"]: tuple(row[c] for c in CARRY) for row in users}
    for period in dict.fromkeys(periods):
        alone = count_members(definitions, dataset, period, by=by, registry=registry)
        for d in definitions:
            found, expected = together[d.name, period], alone[d.name]
            label = f"{d.name} over {period}"
            assert found.period == period, label
            assert found.count == expected.count, label
            assert found.users == expected.users, label
            assert dict(found.breakdowns) == dict(expected.breakdowns), label
            members = set(found.members_expr().to_pyarrow()["user_id"].to_pylist())
            assert members == set(expected.members_expr().to_pyarrow()["user_id"].to_pylist())
            if isinstance(found, Members):
                carried = found.carried_expr(CARRY).to_pyarrow().to_pylist()
                assert {row["user_id"] for row in carried} == members, label
                for row in carried:
                    assert tuple(row[c] for c in CARRY) == columns[row["user_id"]], label


@pytest.mark.parametrize(
    ("seed", "by"), [(13, ("area",)), (37, ("area", "age_band", "sex")), (59, ())]
)
def test_one_pass_over_overlapping_periods_equals_each_period_alone(tmp_path, seed, by) -> None:
    synthesise(tmp_path, users=300, seed=seed, areas=3)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definitions = list(registry.counting_definitions())
    _assert_each_period_alone(dataset, definitions, PERIODS, by, registry)


@settings(
    deadline=None,
    max_examples=strategies.examples(15),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_one_pass_over_random_periods_equals_each_period_alone(data: st.DataObject) -> None:
    extract = data.draw(strategies.extracts(), "extract")
    periods = data.draw(st.lists(strategies.periods(extract), min_size=1, max_size=4), "periods")
    definitions = [
        data.draw(strategies.definitions(name=f"d{i}", max_criteria=3), f"definition {i}")
        for i in range(2)
    ]
    by = data.draw(st.sampled_from([(), ("area",), ("area", "age_band")]), "by")
    _assert_each_period_alone(extract.dataset(), definitions, periods, by)


def test_overlapping_periods_are_counted_in_one_pass(tmp_path, monkeypatch) -> None:
    """One stored table of members for every (definition, period) counting users, by area
    (a banded breakdown such as the age band, read at each period's end, takes a pass per
    period); a trend's start counted with its period costs no second pass."""
    import threeml.engine.membership as membership

    synthesise(tmp_path, users=120, seed=71, areas=2)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    stored: list[object] = []
    real_keep = membership.keep

    def keep(backend, expr):
        stored.append(expr)
        return real_keep(backend, expr)

    monkeypatch.setattr(membership, "keep", keep)
    users = [d for d in registry.counting_definitions() if d.unit is Unit.USERS]
    wanted = [(d, p) for d in users for p in PERIODS[:3]]
    count_members_periods(wanted, dataset, by=("area",), registry=registry)
    assert len(stored) == 1
    stored.clear()
    count_members_periods(wanted, dataset, by=("area", "age_band"), registry=registry)
    assert len(stored) == 3


def test_series_definitions_the_one_pass_cannot_take_are_counted_in_passes_of_flags(
    tmp_path, monkeypatch
) -> None:
    """A definition the series' one pass cannot take (a plugin's criterion kind: trial
    participants) is counted in passes of flags of up to FLAGGED_PERIODS intervals each, not
    once per interval; each interval's figures and members are those of counting it alone."""
    import threeml.engine.membership_series as membership_series
    from threeml.engine.membership import FLAGGED_PERIODS
    from threeml.records.intervals import split

    synthesise(tmp_path, users=300, seed=41, areas=3)
    dataset = Dataset.from_folder(tmp_path)
    registry = default_registry()
    definition = registry.counting("trial-participants")
    intervals = split(Period.parse("2012-01-01:2014-03-31"), "month")
    assert len(intervals) > FLAGGED_PERIODS
    passes: list[int] = []
    real = membership_series.count_members_periods

    def counting(wanted, *args, **kwargs):
        passes.append(len(wanted))
        return real(wanted, *args, **kwargs)

    monkeypatch.setattr(membership_series, "count_members_periods", counting)
    found = membership_series.count_members_series(
        [definition], dataset, intervals, by=("area",), registry=registry
    )[definition.name]
    assert passes == [FLAGGED_PERIODS, len(intervals) - FLAGGED_PERIODS]
    assert sum(result.count for result in found) > 0
    for interval, result in zip(intervals, found, strict=True):
        alone = count_members(
            [definition], dataset, interval.period, by=("area",), registry=registry
        )[definition.name]
        assert (result.period, result.count) == (alone.period, alone.count)
        assert dict(result.breakdowns) == dict(alone.breakdowns)
        members = set(result.members_expr().to_pyarrow()["user_id"].to_pylist())
        assert members == set(alone.members_expr().to_pyarrow()["user_id"].to_pylist())

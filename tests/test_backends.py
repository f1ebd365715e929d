"""The same definitions on a second ibis backend (Polars) give the same results as on DuckDB.

DESIGN.md promises that definitions run unchanged on other engines. Polars is
the second backend here because it installs from a wheel and needs no server;
it has no window functions and no array ``filter``/``map``, so it also keeps the
engine to operations that most backends share.

The engine is checked on a dataset whose (already validated) tables are copied
into a Polars connection. :meth:`Dataset.from_connection` cannot yet validate
on Polars and copies the tables into DuckDB instead; a strict expected failure
records that, and will report when validation starts to run on Polars itself.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import strategies
from hypothesis import HealthCheck, given, settings

from threeml import Contact, Enrolment, Period, Service, User
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
    ReferredIn,
    RiskAtLeast,
    RiskInTopPercent,
    SectorsAtLeast,
    Window,
)
from threeml.engine.evaluate import count_many
from threeml.engine.results import CountResult

pytest.importorskip("polars")
ibis = pytest.importorskip("ibis")

# ibis 12 compiles ``isin`` against a subquery to a Polars ``is_in`` with a Series, which
# Polars 1.28+ deprecates; the results are still right.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`is_in` with a collection of the same datatype:DeprecationWarning"
)

BY = ("area", "sector")


def _definition(name: str, *criteria: Criterion, unit: str = "users") -> CountingDefinition:
    return CountingDefinition(
        name=name, version="1", title=name, description=name, criteria=criteria, unit=unit
    )


READINGS = ContactsAtLeast(count=4, contact_kinds=["reading"], service_kinds=["telehealth"])
#: The standard definitions of DESIGN.md, and a few more that use every criterion kind.
DEFINITIONS = [
    _definition("connections", InstalledIn(), unit="enrolments"),
    _definition("referred", ReferredIn()),
    _definition("in-receipt", EnrolmentOverlaps()),
    _definition("census", EnrolmentOverlaps(window=Window(last_days=7))),
    _definition("new-users", FirstInstalledIn()),
    _definition("telehealth", EnrolmentOverlaps(service_kinds=["telehealth"])),
    _definition("active", ContactsAtLeast(window=Window(last_days=28))),
    _definition("active-telehealth", EnrolmentOverlaps(service_kinds=["telehealth"]), READINGS),
    _definition(
        "ltc-telehealth",
        EnrolmentOverlaps(service_kinds=["telehealth"]),
        READINGS,
        HasCondition(conditions=["copd", "diabetes", "heart_failure"]),
    ),
    _definition("high-risk", EnrolmentOverlaps(), RiskAtLeast(threshold=0.5)),
    _definition("multi-sector", SectorsAtLeast(count=2)),
    _definition("top-quarter", RiskInTopPercent(percent=25), EnrolmentOverlaps()),
    _definition("active-in-receipt", MemberOf("in-receipt"), MemberOf("active")),
    _definition("connected-users", MemberOf("connections")),
    _definition(
        "used-housing",
        EnrolmentOverlaps(sectors=["housing", "social_care"]),
        ContactsAtLeast(),
        unit="enrolments",
    ),
]


class Registry:
    """The smallest stand-in for the definition registry: ``counting(name)``."""

    def __init__(self, definitions: list[CountingDefinition]) -> None:
        self.definitions = {d.name: d for d in definitions}

    def counting(self, name: str) -> CountingDefinition:
        return self.definitions[name]


REGISTRY = Registry(DEFINITIONS)
#: A smaller set for random extracts, where every example costs a dataset and two runs.
SOME = [
    d
    for d in DEFINITIONS
    if d.name
    in {"connections", "census", "new-users", "ltc-telehealth", "top-quarter", "used-housing"}
]


def polars_connection(dataset: Dataset) -> Any:
    """A Polars connection holding a copy of every table of ``dataset``."""
    con = ibis.polars.connect()
    for name, table in dataset.tables.items():
        con.create_table(name, table.to_pyarrow())
    return con


def on_polars(dataset: Dataset) -> Dataset:
    """``dataset`` with its validated tables copied into Polars (no validation on the way)."""
    con = polars_connection(dataset)
    return attrs.evolve(
        dataset, backend=con, tables={name: con.table(name) for name in dataset.tables}
    )


def summary(result: CountResult) -> dict[str, Any]:
    membership = result.membership().to_pylist()
    return {
        "count": result.count,
        "users": result.users,
        "records": result.records,
        "considered": result.considered,
        "attrition": result.attrition,
        "breakdowns": dict(result.breakdowns),
        "membership": sorted(membership, key=lambda row: tuple(map(str, row.values()))),
    }


def assert_same(first: dict[str, CountResult], second: dict[str, CountResult]) -> None:
    assert first.keys() == second.keys()
    for name in first:
        assert summary(first[name]) == summary(second[name]), name


P = Period.parse("2013-04")
TELEHEALTH = Service(service_id="th", kind="telehealth", sector="health", area="north")
TELECARE = Service(service_id="tc", kind="telecare", sector="social_care", area="north")
HOUSING = Service(service_id="hs", kind="telecare", sector="housing", area="south")


def reading(user: str, enrolment: str, day: int, kind: str = "reading") -> Contact:
    return Contact(user_id=user, enrolment_id=enrolment, date=f"2013-04-{day:02d}", kind=kind)


@pytest.fixture(scope="module")
def extract() -> Dataset:
    users = [
        User(user_id="ann", area="north", sex="female", conditions=["copd"], risk_score=0.8),
        User(user_id="bob", area="north", sex="male", risk_score=0.5),
        User(user_id="cat", area="south", conditions=["diabetes", "dementia"], risk_score=0.3),
        User(user_id="dan", area="south", sex="male", risk_score=0.5),
        User(user_id="eve", area="east", sex="female"),
    ]
    enrolments = [
        Enrolment("e1", "ann", "th", referred_on="2013-03-20", installed_on="2013-04-02"),
        Enrolment("e2", "ann", "tc", installed_on="2012-01-01", ended_on="2013-04-01"),
        Enrolment("e3", "bob", "th", installed_on="2013-01-01", ended_on="2013-04-25"),
        Enrolment("e4", "cat", "hs", referred_on="2013-04-10"),
        Enrolment("e5", "dan", "hs", installed_on="2013-04-30"),
        Enrolment("e6", "dan", "tc", installed_on="2013-02-01"),
        Enrolment("e7", "eve", "tc", installed_on="2013-05-01"),
    ]
    contacts = [
        *[reading("ann", "e1", day) for day in (1, 3, 5, 7, 9)],  # the 1st is before install
        *[reading("bob", "e3", day) for day in (2, 20, 24, 25, 26)],  # the 26th is after end
        reading("dan", "e5", 30, "heartbeat"),
        reading("dan", "e6", 2, "alarm_call"),
        reading("eve", "e7", 15, "test_call"),  # before installation: does not count
    ]
    return Dataset.from_records(
        users=users,
        services=[TELEHEALTH, TELECARE, HOUSING],
        enrolments=enrolments,
        contacts=contacts,
    )


@pytest.fixture(scope="module")
def on_duckdb(extract: Dataset) -> dict[str, CountResult]:
    return count_many(DEFINITIONS, extract, P, by=BY, registry=REGISTRY)


def test_the_engine_gives_the_same_results_on_polars(extract, on_duckdb) -> None:
    polar = count_many(DEFINITIONS, on_polars(extract), P, by=BY, registry=REGISTRY)
    assert_same(on_duckdb, polar)
    assert on_duckdb["in-receipt"].members() == {"ann", "bob", "dan"}
    assert on_duckdb["active-telehealth"].members() == {"ann", "bob"}


@settings(
    max_examples=strategies.examples(5),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(strategies.extracts(), strategies.periods())
def test_the_engine_gives_the_same_results_on_polars_for_random_extracts(
    random_extract: strategies.Extract, period: Period
) -> None:
    dataset = random_extract.dataset()
    duck = count_many(SOME, dataset, period, by=("service_kind",))
    polar = count_many(SOME, on_polars(dataset), period, by=("service_kind",))
    assert_same(duck, polar)


def test_a_polars_connection_loads_and_counts_like_duckdb(extract, on_duckdb) -> None:
    loaded = Dataset.from_connection(polars_connection(extract))
    assert loaded.report.ok
    assert loaded.count_rows() == extract.count_rows()
    again = count_many(SOME, loaded, P, by=BY)
    assert_same({d.name: on_duckdb[d.name] for d in SOME}, again)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "validation in threeml.data does not compile on Polars (window functions: "
        "ibis.row_number() numbering the rows in from_connection, row_number()/min() over "
        "the key in the duplicate-id check, row_number() over (table, kind) for the report's "
        "examples; array map/filter cleaning list columns in checks._code_list), so "
        "from_connection copies the tables into an embedded DuckDB"
    ),
)
def test_a_polars_connection_is_validated_and_counted_on_polars(extract: Dataset) -> None:
    loaded = Dataset.from_connection(polars_connection(extract))
    assert loaded.backend.name == "polars"

"""The standard definitions agree with a plain SQL reading of DESIGN.md's table.

The SQL below is written independently of threeml: it reads the demo extract's
CSV files straight into DuckDB and implements each row of the design brief's
table as an analyst would, so a misreading in the criteria vocabulary or the
engine shows up as a disagreement.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest
from threeml_counting import STANDARD

from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.engine.evaluate import count_many
from threeml.plugins.registry import default_registry
from threeml.records.periods import Period

OVERLAP = (
    "en.installed_on IS NOT NULL AND en.installed_on <= {e} AND "
    "(en.ended_on IS NULL OR en.ended_on >= {s})"
)
COUNTING = (
    "FROM contacts c JOIN enrolments en ON c.enrolment_id = en.enrolment_id "
    "JOIN services sv ON en.service_id = sv.service_id "
    "WHERE en.installed_on IS NOT NULL AND c.date >= en.installed_on "
    "AND (en.ended_on IS NULL OR c.date <= en.ended_on)"
)

SQL = {
    "connections": "SELECT count(*) FROM enrolments WHERE installed_on BETWEEN {s} AND {e}",
    "referred": "SELECT count(DISTINCT user_id) FROM enrolments "
    "WHERE referred_on BETWEEN {s} AND {e}",
    "in-receipt": "SELECT count(DISTINCT user_id) FROM enrolments en WHERE " + OVERLAP,
    "census": "SELECT count(DISTINCT user_id) FROM enrolments en WHERE "
    + OVERLAP.replace("{s}", "{e} - 6"),
    "new-users": "SELECT count(*) FROM (SELECT user_id, min(installed_on) AS first "
    "FROM enrolments WHERE installed_on IS NOT NULL GROUP BY user_id) "
    "WHERE first BETWEEN {s} AND {e}",
    "telehealth": "SELECT count(DISTINCT en.user_id) FROM enrolments en JOIN services sv "
    "ON en.service_id = sv.service_id WHERE sv.kind = 'telehealth' AND " + OVERLAP,
    "active": "SELECT count(DISTINCT c.user_id) "
    + COUNTING
    + " AND c.date BETWEEN {e} - 27 AND {e}",
    "active-telehealth": "SELECT count(*) FROM (SELECT c.user_id "
    + COUNTING
    + " AND c.kind = 'reading' AND sv.kind = 'telehealth' "
    "AND c.date BETWEEN {s} AND {e} GROUP BY c.user_id HAVING count(*) >= 4)",
    "ltc-telehealth": "SELECT count(*) FROM (SELECT c.user_id "
    + COUNTING
    + " AND c.kind = 'reading' AND sv.kind = 'telehealth' "
    "AND c.date BETWEEN {s} AND {e} GROUP BY c.user_id HAVING count(*) >= 4) a "
    "JOIN users u ON u.user_id = a.user_id WHERE list_has_any("
    "string_split(coalesce(u.conditions, ''), ';'), "
    "['copd', 'diabetes', 'heart_failure'])",
    "high-risk": "SELECT count(DISTINCT en.user_id) FROM enrolments en JOIN users u "
    "ON u.user_id = en.user_id WHERE u.risk_score >= 0.5 AND " + OVERLAP,
    "multi-sector": "SELECT count(*) FROM (SELECT en.user_id FROM enrolments en JOIN services sv "
    "ON en.service_id = sv.service_id WHERE "
    + OVERLAP
    + " GROUP BY en.user_id HAVING count(DISTINCT sv.sector) >= 2)",
}

PERIODS = ["2012", "2013", "2013-Q4", "FY2012/13", "2013-12-01:2013-12-03"]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    folder = demo_folder()
    for table in ("users", "services", "enrolments", "contacts"):
        connection.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv('{folder / (table + '.csv')}', "
            "header = true)"
        )
    return connection


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_folder(demo_folder())


def _sql_count(con: duckdb.DuckDBPyConnection, name: str, period: Period) -> int:
    def day(value: date) -> str:
        return f"DATE '{value.isoformat()}'"

    query = SQL[name].format(s=day(period.start), e=day(period.end))
    return con.execute(query).fetchall()[0][0]


def test_the_sql_covers_every_standard_definition() -> None:
    assert set(SQL) == {d.name for d in STANDARD}


@pytest.mark.parametrize("text", PERIODS)
def test_engine_counts_equal_the_independent_sql(con, dataset, text: str) -> None:
    period = Period.parse(text)
    results = count_many(STANDARD, dataset, period, by=(), registry=default_registry())
    expected = {name: _sql_count(con, name, period) for name in SQL}
    assert {name: results[name].count for name in SQL} == expected
    assert any(expected.values())


def test_the_census_week_is_the_last_seven_days(con) -> None:
    period = Period.parse("2013")
    assert period.end - timedelta(days=6) == date(2013, 12, 25)
    assert _sql_count(con, "census", period) <= _sql_count(con, "in-receipt", period)

"""The checks of a first validation written by hand in DuckDB SQL, as counts only.

Each cell check, duplicate id, reference and rule of the users, enrolments, contacts and
outcomes, and the allocations' reference to the users (the small tables' cell checks are left
out; the outcomes' value rules are approximated by ``value < 0 OR cost < 0``). No messages, no
row numbers, no problem rows: about the least the checks can cost on this engine,
a second yardstick for ``threeml validate`` beside DuckDB reading every column once (the
reference and consistency checks are joins, which a read does not do). Dates are bounded as
threeml bounds them; the bounds' values do not change the cost. ``benchmarks/commands.py``
runs it as a step of its own::

    python benchmarks/validation_by_hand.py /tmp/threeml-commands
"""

from __future__ import annotations

import sys

import duckdb

CONTROL = "'[\\x00-\\x1f\\x7f]'"
KNOWN = (
    "('asthma', 'atrial_fibrillation', 'cancer', 'chd', 'ckd', 'copd', 'dementia', "
    "'depression', 'diabetes', 'epilepsy', 'falls', 'frailty', 'heart_failure', "
    "'hypertension', 'learning_disability', 'mental_health', 'stroke')"
)
CONTACT_KINDS = (
    "('reading', 'alert', 'alarm_call', 'test_call', 'heartbeat', 'coaching_session', "
    "'video_consultation')"
)
OUTCOME_KINDS = (
    "('emergency_admission', 'elective_admission', 'ae_attendance', 'care_home_admission', "
    "'death', 'qol')"
)
END_REASONS = "('died', 'care_home', 'hospital', 'declined', 'abandoned', 'moved', 'other')"
EARLY, LATE = "DATE '1900-01-01'", "DATE '2027-01-07'"


def text_fails(column: str, control: bool = True) -> str:
    """A text cell that is missing, too long or (``control``) holds a control character."""
    search = f" OR regexp_matches({column}, {CONTROL})" if control else ""
    return f"{column} IS NULL OR {column} = '' OR length({column}) > 200{search}"


def date_fails(column: str) -> str:
    return f"{column} < {EARLY} OR {column} > {LATE}"


QUERIES = [
    # The contacts' cell checks as one conjunction DuckDB pushes into the scan, then the
    # consistency anti-join (which also finds unknown enrolments).
    "SELECT count(*) FROM contacts WHERE user_id <> '' AND strlen(user_id) <= 200 "
    "AND enrolment_id <> '' AND strlen(enrolment_id) <= 200 "
    f"AND date BETWEEN {EARLY} AND {LATE} AND kind IN {CONTACT_KINDS}",
    "SELECT count(*) FROM contacts c ANTI JOIN enrolments e "
    "ON c.enrolment_id = e.enrolment_id AND c.user_id = e.user_id",
    f"SELECT count(*) FROM users WHERE {text_fails('user_id')} OR {text_fails('area')} "
    "OR birth_year < 1880 OR birth_year > 2100 "
    f"OR regexp_matches(sex, {CONTROL}) OR length(sex) > 200 "
    f"OR len(list_filter(conditions, x -> NOT x IN {KNOWN})) > 0 "
    "OR isnan(risk_score) OR isinf(risk_score) OR risk_score < 0 OR risk_score > 1",
    "SELECT count(user_id) - count(DISTINCT user_id) FROM users",
    f"SELECT count(*) FROM enrolments WHERE {text_fails('enrolment_id')} "
    f"OR {text_fails('user_id', control=False)} OR {text_fails('service_id', control=False)} "
    f"OR {date_fails('referred_on')} OR {date_fails('installed_on')} "
    f"OR {date_fails('ended_on')} OR NOT end_reason IN {END_REASONS} "
    "OR installed_on < referred_on OR ended_on < installed_on OR ended_on < referred_on "
    "OR (ended_on IS NULL) <> (end_reason IS NULL)",
    "SELECT count(enrolment_id) - count(DISTINCT enrolment_id) FROM enrolments",
    # Every reference to the users in one anti-join, and the enrolments' to the services.
    "SELECT count(*) FROM (SELECT user_id FROM enrolments UNION ALL SELECT user_id "
    "FROM outcomes UNION ALL SELECT user_id FROM allocations) r "
    "ANTI JOIN users u ON r.user_id = u.user_id",
    "SELECT count(*) FROM enrolments e ANTI JOIN services s ON e.service_id = s.service_id",
    f"SELECT count(*) FROM outcomes WHERE {text_fails('user_id', control=False)} "
    f"OR date IS NULL OR {date_fails('date')} OR NOT kind IN {OUTCOME_KINDS} "
    "OR value < 0 OR cost < 0",
]


def main(folder: str) -> None:
    con = duckdb.connect()
    con.execute("SET memory_limit = '1.25GB'")
    for table in ("users", "services", "enrolments", "contacts", "outcomes", "allocations"):
        path = f"{folder}/{table}.parquet".replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")
    for query in QUERIES:
        con.execute(query).fetchall()


if __name__ == "__main__":
    main(sys.argv[1])

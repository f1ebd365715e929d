"""Shared fixtures: small extract folders written as CSV text."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

#: A small, valid extract: every table, every kind of column, an open and a closed
#: enrolment, a never-installed one, an empty optional cell in each table.
VALID_CSV: dict[str, str] = {
    "users": (
        "user_id,area,birth_year,sex,conditions,risk_score\n"
        "U1,Kent,1940,F,copd;diabetes,0.2\n"
        "U2,Kent,1950,M,,0.7\n"
        "U3,Cornwall,,,heart_failure,\n"
    ),
    "services": (
        "service_id,kind,sector,area,provider,annual_cost\n"
        "S1,telehealth,health,Kent,Kent NHS,900\n"
        "S2,telecare,social_care,Kent,,120.5\n"
        "S3,telecare,housing,Cornwall,Lifeline,\n"
    ),
    "enrolments": (
        "enrolment_id,user_id,service_id,referred_on,installed_on,ended_on,end_reason\n"
        "E1,U1,S1,2013-01-01,2013-01-10,,\n"
        "E2,U2,S2,2013-02-01,2013-02-05,2013-06-30,moved\n"
        "E3,U3,S3,2013-03-01,,,\n"
        "E4,U1,S2,,2013-04-01,2013-09-30,died\n"
    ),
    "contacts": (
        "user_id,enrolment_id,date,kind\n"
        "U1,E1,2013-01-11,reading\n"
        "U1,E1,2013-01-12,reading\n"
        "U2,E2,2013-03-01,alarm_call\n"
        "U1,E4,2013-05-02,heartbeat\n"
    ),
    "outcomes": (
        "user_id,date,kind,value,cost\n"
        "U1,2013-08-01,emergency_admission,3,1550\n"
        "U2,2013-07-01,qol,-0.25,\n"
        "U1,2013-10-02,death,,\n"
    ),
    "allocations": (
        "user_id,trial,arm,allocated_on\nU1,wsd,intervention,2013-01-05\nU2,wsd,control,2013-01-06\n"
    ),
    "targets": (
        "definition,area,value,due\ntelehealth,Kent,10,2014-03-31\ntelehealth,all,20,2014-03-31\n"
    ),
    "populations": (
        "area,year,age_band,sex,population,group\n"
        "Kent,2013,70-74,,5000,\nKent,2013,90+,F,800,\nKent,2013,75-79,,1200,eligible\n"
    ),
}

#: The latest event date in VALID_CSV (the death on 2 October 2013; targets do not count).
VALID_LATEST = "2013-10-02"


@pytest.fixture
def make_folder(tmp_path: Path) -> Callable[..., Path]:
    """Write an extract folder: the valid tables, with some replaced.

    ``make_folder(users="...")`` replaces a table's CSV text (``str`` is written as UTF-8
    bytes exactly as given, ``bytes`` as they are); ``make_folder(outcomes=None)`` leaves a
    table's file out; ``base=False`` starts from no tables at all.
    """
    counter = itertools.count()

    def make(*, base: bool = True, **tables: str | bytes | None) -> Path:
        folder = tmp_path / f"extract{next(counter)}"
        folder.mkdir()
        contents: dict[str, str | bytes | None] = dict(VALID_CSV) if base else {}
        contents.update(tables)
        for name, text in contents.items():
            if text is None:
                continue
            data = text.encode("utf-8") if isinstance(text, str) else text
            (folder / f"{name}.csv").write_bytes(data)
        return folder

    return make

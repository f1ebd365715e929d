"""Worked examples of the example plugin's definitions: tiny tables and who must count.

Each :class:`~threeml.definitions.speccase.SpecCase` is a test (``tests/test_example_plugin.py``
checks the engine and the reference evaluator both count exactly ``expected``)
and a worked example in threeml's docs: ``plugin.py`` offers them to threeml as
``SPEC_CASES``, and the catalogue renders them under their definition.

Rows are tuples in a fixed column order (``None`` is an empty cell):

- users: ``user_id, area, conditions, risk_score``;
- enrolments: ``enrolment_id, user_id, service_id, referred_on, installed_on, ended_on``;
- contacts: ``user_id, enrolment_id, date, kind``.

Services are ``th`` telehealth (health), ``tc`` telecare (social care), ``tch``
telecare (housing) and ``tco`` telecoaching (third sector).
"""

from __future__ import annotations

from threeml.definitions.speccase import SpecCase

__all__ = ["SPEC_CASES"]


def _heartbeats(user: str, enrolment: str, *days: int) -> list[tuple[str, str, str, str]]:
    """Heartbeat contacts of ``user`` on ``enrolment`` on the given days of December 2013."""
    return [(user, enrolment, f"2013-12-{day:02d}", "heartbeat") for day in days]


SPEC_CASES: tuple[SpecCase, ...] = (
    SpecCase(
        definition="example.pendant-heartbeat-7d",
        title="A heartbeat counts in the last 7 days of the period, while the pendant is installed",
        period="2013",
        users=[(f"u{i}", "A", None, None) for i in range(1, 7)],
        enrolments=[
            ("e1", "u1", "tc", None, "2013-01-01", None),
            ("e2", "u2", "tc", None, "2013-01-01", None),
            ("e3", "u3", "tc", None, "2013-01-01", "2013-12-26"),
            ("e4", "u4", "th", None, "2013-01-01", None),
            ("e5", "u5", "tc", "2013-11-01", None, None),
            ("e6", "u6", "tch", None, "2013-01-01", "2013-12-26"),
        ],
        contacts=[
            ("u1", "e1", "2013-12-25", "heartbeat"),  # the first day of the last 7
            ("u2", "e2", "2013-12-24", "heartbeat"),  # the day before them
            ("u3", "e3", "2013-12-27", "heartbeat"),  # the day after the service ended
            ("u4", "e4", "2013-12-30", "heartbeat"),  # on telehealth, not telecare
            ("u5", "e5", "2013-12-30", "heartbeat"),  # referred, never installed
            ("u6", "e6", "2013-12-26", "heartbeat"),  # the last day of service counts
        ],
        expected={"u1", "u6"},
        notes=[
            "The census week of the period 2013 is 25-31 December. u6's pendant is a "
            "housing-sector telecare service: any telecare counts, whichever sector provides it."
        ],
    ),
    SpecCase(
        definition="example.high-risk-pendants",
        title="member-of counts whoever the named definition counts; then the risk score",
        period="2013",
        users=[
            ("u1", "A", None, 0.5),  # a working pendant, risk exactly 0.5
            ("u2", "A", None, 0.49),  # a working pendant, risk just below
            ("u3", "A", None, 0.9),  # high risk, last heartbeat before the last 7 days
            ("u4", "A", None, None),  # a working pendant, no risk score
            ("u5", "A", None, 0.8),  # high risk, heartbeat after the pendant was returned
        ],
        enrolments=[
            ("e1", "u1", "tc", None, "2013-01-01", None),
            ("e2", "u2", "tc", None, "2013-01-01", None),
            ("e3", "u3", "tc", None, "2013-01-01", None),
            ("e4", "u4", "tc", None, "2013-01-01", None),
            ("e5", "u5", "tc", None, "2013-01-01", "2013-12-24"),
        ],
        contacts=[
            ("u1", "e1", "2013-12-31", "heartbeat"),
            ("u2", "e2", "2013-12-31", "heartbeat"),
            ("u3", "e3", "2013-12-24", "heartbeat"),
            ("u4", "e4", "2013-12-25", "heartbeat"),
            ("u5", "e5", "2013-12-28", "heartbeat"),
        ],
        expected={"u1"},
        notes=[
            "The first criterion is example.pendant-heartbeat-7d by name: u3 and u5 fail it "
            "(u3's last heartbeat is the day before the last 7 days; u5's pendant was returned "
            "before its heartbeat), as they fail that definition. u2 and u4 pass it and fail "
            "the risk score: 0.49 is below 0.5, and an unknown score never passes."
        ],
    ),
    SpecCase(
        definition="example.telehealth-referrals",
        title="A telehealth referral in the period counts, whether or not it was installed",
        period="2013",
        users=[(f"u{i}", "A", None, None) for i in range(1, 5)],
        enrolments=[
            ("e1", "u1", "th", "2013-03-01", None, None),  # never installed: still referred
            ("e2", "u2", "tc", "2013-03-01", "2013-03-10", None),  # telecare, not telehealth
            ("e3", "u3", "th", "2012-12-31", "2013-01-05", None),  # referred the day before
            ("e4", "u4", "th", "2013-12-31", None, None),  # referred on the last day
        ],
        expected={"u1", "u4"},
    ),
    SpecCase(
        definition="example.heartbeat-steady",
        title="No gap of more than 7 days, from the period's first day to its last",
        period="2013-12",
        users=[(f"u{i}", "A", None, None) for i in range(1, 8)],
        enrolments=[(f"e{i}", f"u{i}", "tc", None, "2013-11-01", None) for i in range(1, 8)],
        contacts=[
            *_heartbeats("u1", "e1", 1, 8, 8, 15, 22, 29),  # gaps of 7 days at most
            *_heartbeats("u2", "e2", 1, 8, 16, 23, 30),  # 8 days from the 8th to the 16th
            *_heartbeats("u3", "e3", 8, 15, 22, 29),  # 7 days from the 1st to the first
            ("u4", "e4", "2013-11-30", "heartbeat"),  # before the period: does not cover it
            *_heartbeats("u4", "e4", 9, 16, 23, 30),  # 8 days from the 1st to the first
            *_heartbeats("u5", "e5", 3, 10, 17, 24),  # 7 days from the last to the 31st
            *_heartbeats("u6", "e6", 2, 9, 16, 23),  # 8 days from the last to the 31st
            *_heartbeats("u7", "e7", 16),  # one heartbeat, 15 days from either end
        ],
        expected={"u1", "u3", "u5"},
        notes=[
            "Gaps are counted in days between heartbeat days: the 1st to the 8th is 7 days. "
            "The period's first and last days bound the gaps as if the period opened and "
            "closed with a heartbeat, so u4, first heard on the 9th, fails although a "
            "heartbeat on 30 November came 9 days before; two heartbeats on one day (u1 on "
            "the 8th) are one heartbeat day."
        ],
    ),
    SpecCase(
        definition="example.heartbeat-steady",
        title="Only counting heartbeats on telecare count, over all of a person's enrolments",
        period="2013-12",
        users=[(f"u{i}", "A", None, None) for i in range(1, 8)],
        enrolments=[
            ("e1", "u1", "tc", None, "2013-11-01", "2013-12-14"),  # replaced on the 15th
            ("e1b", "u1", "tc", None, "2013-12-15", None),
            ("e2", "u2", "tc", None, "2013-11-01", "2013-12-20"),
            ("e3", "u3", "tc", None, "2013-12-10", None),  # installed part-way
            ("e4", "u4", "tc", None, "2013-11-01", None),
            ("e5", "u5", "tc", None, "2013-11-01", None),
            ("e5h", "u5", "th", None, "2013-11-01", None),
            ("e6", "u6", "tc", None, "2013-11-01", None),
            ("e7", "u7", "tch", None, "2013-11-01", None),
        ],
        contacts=[
            *_heartbeats("u1", "e1", 1, 7, 14),
            *_heartbeats("u1", "e1b", 21, 28),  # the replacement pendant carries on
            *_heartbeats("u2", "e2", 1, 8, 15, 20),
            ("u2", "e2", "2013-12-27", "heartbeat"),  # a late upload after the end: no count
            ("u3", "e3", "2013-12-03", "heartbeat"),  # a test before installation: no count
            *_heartbeats("u3", "e3", 10, 17, 24, 31),
            ("u4", "e4", "2013-12-01", "heartbeat"),
            *[(c[0], c[1], c[2], "alarm_call") for c in _heartbeats("u4", "e4", 8, 15, 22, 29)],
            *_heartbeats("u5", "e5h", 1, 8, 15, 22, 29),  # on telehealth, not telecare
            *_heartbeats("u7", "e7", 1, 8, 15, 22, 29),  # a housing-sector telecare service
        ],
        expected={"u1", "u7"},
        notes=[
            "u2's last counting heartbeat is on the 20th, the day its service ended: 11 days "
            "before the period's end. u3's alarm was installed on the 10th, 9 days into the "
            "period. u4's alarm calls are not heartbeats, u5's heartbeats come from a "
            "telehealth enrolment, and u6's pendant never reported."
        ],
    ),
    SpecCase(
        definition="example.heartbeat-steady",
        title="In a period shorter than the gap, one heartbeat is enough and none is not",
        period="2013-12-25:2013-12-31",
        users=[(f"u{i}", "A", None, None) for i in range(1, 5)],
        enrolments=[(f"e{i}", f"u{i}", "tc", None, "2013-11-01", None) for i in range(1, 5)],
        contacts=[
            ("u1", "e1", "2013-12-28", "heartbeat"),  # 3 days from either end
            ("u3", "e3", "2013-12-25", "heartbeat"),  # 6 days before the period's end
            ("u4", "e4", "2013-12-24", "heartbeat"),  # the day before the period
        ],
        expected={"u1", "u3"},
        notes=[
            "u2's pendant sent no heartbeat in the week: it fails although the week is "
            "shorter than 7 days, since nothing shows the alarm was working."
        ],
    ),
)

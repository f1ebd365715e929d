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
)

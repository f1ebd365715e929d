"""Worked examples for every standard definition: small tables and the expected members.

Every case uses the period 2013 (1 January to 31 December 2013) unless it says
otherwise, so the census week is 25-31 December and the last 28 days run from
4 December. Services: ``th`` telehealth (health), ``tc`` telecare (social
care), ``tch`` telecare (housing), ``tco`` telecoaching (third sector).
"""

from __future__ import annotations

from threeml.definitions.speccase import SpecCase

P = "2013"

SPEC_CASES: tuple[SpecCase, ...] = (
    SpecCase(
        definition="connections",
        title="Connections count enrolments installed in the period, not people",
        period=P,
        users=[("u1", "A", None, None), ("u2", "A", None, None), ("u3", "A", None, None)],
        enrolments=[
            ("e1", "u1", "tc", "2012-12-01", "2013-01-01", None),  # installed on the first day
            ("e2", "u1", "th", "2013-02-01", "2013-02-10", None),  # same person, second connection
            ("e3", "u2", "tc", "2012-12-01", "2012-12-31", None),  # installed the day before
            ("e4", "u2", "th", "2013-03-01", None, None),  # referred, never installed
            ("e5", "u3", "tco", "2013-12-01", "2013-12-31", None),  # installed on the last day
        ],
        expected={"e1", "e2", "e5"},
        notes=["Three connections but only two people (u1 twice, u3)."],
    ),
    SpecCase(
        definition="referred",
        title="Referred counts referrals in the period, installed or not",
        period=P,
        users=[("u1", "A", None, None), ("u2", "A", None, None), ("u3", "A", None, None)],
        enrolments=[
            ("e1", "u1", "th", "2013-03-01", None, None),  # never installed: still referred
            ("e2", "u2", "tc", "2012-12-31", "2013-01-05", None),  # referred before the period
            ("e3", "u3", "tc", None, "2013-02-01", None),  # no referral date recorded
        ],
        expected={"u1"},
    ),
    SpecCase(
        definition="referred",
        title="Referred: referrals on the period's first and last day both count",
        period=P,
        users=[(f"u{i}", "A", None, None) for i in range(1, 5)],
        enrolments=[
            ("e1", "u1", "tc", "2013-01-01", None, None),  # the first day
            ("e2", "u2", "th", "2013-12-31", None, None),  # the last day
            ("e3", "u3", "tc", "2014-01-01", "2014-01-02", None),  # the day after
            ("e4", "u4", "th", "2012-12-31", "2013-01-01", None),  # the day before
        ],
        expected={"u1", "u2"},
        notes=["The period's edges are inside it: [start, end], both days inclusive."],
    ),
    SpecCase(
        definition="in-receipt",
        title="In receipt: an installed window overlapping the period, edges included",
        period=P,
        users=[(f"u{i}", "A", None, None) for i in range(1, 7)],
        enrolments=[
            ("e1", "u1", "tc", None, "2012-06-01", "2013-01-01"),  # ends on the first day
            ("e2", "u2", "tc", None, "2013-12-31", None),  # starts on the last day
            ("e3", "u3", "tc", "2013-02-01", None, None),  # never installed
            ("e4", "u4", "tc", None, "2010-01-01", None),  # open-ended, long before
            ("e5", "u5", "tc", None, "2012-01-01", "2012-12-31"),  # ended the day before
            ("e6", "u6", "tc", None, "2013-01-01", "2013-06-30"),  # two overlapping
            ("e7", "u6", "th", None, "2013-03-01", None),
        ],
        expected={"u1", "u2", "u4", "u6"},
        notes=["u6 has two overlapping enrolments: one person, two records."],
    ),
    SpecCase(
        definition="census",
        title="Census: in receipt at some time in the last 7 days of the period",
        period=P,
        users=[(f"u{i}", "A", None, None) for i in range(1, 5)],
        enrolments=[
            ("e1", "u1", "tc", None, "2013-01-01", "2013-12-24"),  # ended the day before the week
            ("e2", "u2", "tc", None, "2013-01-01", "2013-12-25"),  # ended on its first day
            ("e3", "u3", "tc", None, "2011-05-01", None),  # open-ended
            ("e4", "u4", "th", None, "2013-12-31", None),  # installed on the last day
        ],
        expected={"u2", "u3", "u4"},
    ),
    SpecCase(
        definition="new-users",
        title="New users: the earliest installation over all enrolments falls in the period",
        period=P,
        users=[(f"u{i}", "A", None, None) for i in range(1, 5)],
        enrolments=[
            ("e1", "u1", "th", None, "2013-06-01", None),
            ("e2", "u2", "tc", None, "2012-05-01", "2012-11-30"),  # had a pendant alarm before
            ("e3", "u2", "th", None, "2013-06-01", None),
            ("e4", "u3", "tc", "2013-04-01", None, None),  # never installed
            ("e5", "u4", "tc", "2012-12-20", "2013-01-01", None),  # referred before, installed in
        ],
        expected={"u1", "u4"},
    ),
    SpecCase(
        definition="telehealth",
        title="Telehealth: a telehealth enrolment in receipt during the period",
        period=P,
        users=[(f"u{i}", "A", None, None) for i in range(1, 5)],
        enrolments=[
            ("e1", "u1", "th", None, "2013-02-01", None),
            ("e2", "u2", "tc", None, "2013-02-01", None),  # a pendant alarm is not telehealth
            ("e3", "u3", "th", None, "2012-02-01", "2012-12-31"),  # ended before the period
            ("e4", "u4", "th", "2013-02-01", None, None),  # never installed
        ],
        expected={"u1"},
    ),
    SpecCase(
        definition="active",
        title="Active: a counting contact in the last 28 days (4-31 December)",
        period=P,
        users=[(f"u{i}", "A", None, None) for i in range(1, 6)],
        enrolments=[
            ("e1", "u1", "tc", None, "2013-01-01", None),
            ("e2", "u2", "tc", None, "2013-01-01", None),
            ("e3", "u3", "tc", None, "2013-01-01", "2013-12-19"),
            ("e4", "u4", "tc", None, "2013-12-15", None),
            ("e5", "u5", "th", None, "2013-01-01", None),
        ],
        contacts=[
            ("u1", "e1", "2013-12-04", "alarm_call"),  # first day of the window
            ("u2", "e2", "2013-12-03", "alarm_call"),  # the day before the window
            ("u3", "e3", "2013-12-20", "alarm_call"),  # the day after ended_on: does not count
            ("u4", "e4", "2013-12-10", "test_call"),  # before installation: does not count
            ("u5", "e5", "2013-12-31", "reading"),  # last day
        ],
        expected={"u1", "u5"},
        notes=[
            "Contacts outside their enrolment's installed window are valid data; they are "
            "kept and simply do not count."
        ],
    ),
    SpecCase(
        definition="active-telehealth",
        title="Active telehealth: at least 4 counting readings on telehealth in the period",
        period=P,
        users=[(f"u{i}", "A", None, None) for i in range(1, 7)],
        enrolments=[
            ("e1", "u1", "th", None, "2013-01-01", None),
            ("e2", "u2", "th", None, "2013-01-01", None),
            ("e3", "u3", "th", None, "2013-01-01", None),
            ("e4", "u4", "tc", None, "2013-01-01", None),
            ("e5", "u5", "th", None, "2013-01-01", "2013-03-31"),
            ("e6", "u5", "th", None, "2013-04-01", None),
            ("e7", "u6", "th", None, "2013-01-01", "2013-05-01"),
        ],
        contacts=[
            *[("u1", "e1", f"2013-0{m}-10", "reading") for m in (1, 2, 3, 4)],
            *[("u2", "e2", f"2013-0{m}-10", "reading") for m in (1, 2, 3)],  # only three
            *[("u3", "e3", f"2013-0{m}-10", "alarm_call") for m in (1, 2, 3, 4)],  # not readings
            *[("u4", "e4", f"2013-0{m}-10", "reading") for m in (1, 2, 3, 4)],  # on telecare
            ("u5", "e5", "2013-02-10", "reading"),  # two on each of two enrolments
            ("u5", "e5", "2013-03-10", "reading"),
            ("u5", "e6", "2013-04-10", "reading"),
            ("u5", "e6", "2013-05-10", "reading"),
            *[("u6", "e7", f"2013-0{m}-10", "reading") for m in (2, 3, 4)],
            ("u6", "e7", "2013-05-02", "reading"),  # the day after ended_on
        ],
        expected={"u1", "u5"},
    ),
    SpecCase(
        definition="active",
        title="Active: a contact on the installation day itself counts",
        period=P,
        users=[(f"u{i}", "A", None, None) for i in range(1, 4)],
        enrolments=[
            ("e1", "u1", "tc", None, "2013-12-20", None),
            ("e2", "u2", "tc", None, "2013-12-21", None),
            ("e3", "u3", "tc", None, "2013-06-01", "2013-12-10"),
        ],
        contacts=[
            ("u1", "e1", "2013-12-20", "test_call"),  # on the installation day: counts
            ("u2", "e2", "2013-12-20", "test_call"),  # the day before installation: does not
            ("u3", "e3", "2013-12-10", "alarm_call"),  # on the last day of service: counts
        ],
        expected={"u1", "u3"},
        notes=[
            "An installed window is [installed_on, ended_on], both days inclusive, so a test "
            "call made while the installer is there counts."
        ],
    ),
    SpecCase(
        definition="active-telehealth",
        title="Active telehealth: readings on a telecare enrolment do not count, even for a "
        "person who also has telehealth",
        period=P,
        users=[("u1", "A", None, None), ("u2", "A", None, None)],
        enrolments=[
            ("e1", "u1", "th", None, "2013-01-01", None),  # telehealth, no readings
            ("e2", "u1", "tc", None, "2013-01-01", None),  # telecare, four readings
            ("e3", "u2", "th", None, "2013-01-01", None),
            ("e4", "u2", "tc", None, "2013-01-01", None),
        ],
        contacts=[
            *[("u1", "e2", f"2013-0{m}-10", "reading") for m in (1, 2, 3, 4)],
            *[("u2", "e3", f"2013-0{m}-10", "reading") for m in (1, 2)],  # two on telehealth
            *[("u2", "e4", f"2013-0{m}-10", "reading") for m in (3, 4)],  # two on telecare
        ],
        expected=set(),
        notes=[
            "The four readings must be on telehealth enrolments: having a telehealth "
            "enrolment is not enough when the readings were sent on another one."
        ],
    ),
    SpecCase(
        definition="ltc-telehealth",
        title="Long-term conditions: active telehealth users with COPD, diabetes or heart failure",
        period=P,
        users=[
            ("u1", "A", ("copd",), None),
            ("u2", "A", ("dementia",), None),
            ("u3", "A", ("copd", "diabetes"), None),
        ],
        enrolments=[
            ("e1", "u1", "th", None, "2013-01-01", None),
            ("e2", "u2", "th", None, "2013-01-01", None),
            ("e3", "u3", "th", None, "2013-01-01", None),
        ],
        contacts=[
            *[("u1", "e1", f"2013-0{m}-10", "reading") for m in (1, 2, 3, 4)],
            *[("u2", "e2", f"2013-0{m}-10", "reading") for m in (1, 2, 3, 4)],
            *[("u3", "e3", f"2013-0{m}-10", "reading") for m in (1, 2, 3)],  # only three
        ],
        expected={"u1"},
    ),
    SpecCase(
        definition="ltc-telehealth",
        title="Long-term conditions: heart failure alone is enough",
        period=P,
        users=[("u1", "A", ("heart_failure",), None), ("u2", "A", ("diabetes",), None)],
        enrolments=[
            ("e1", "u1", "th", None, "2013-01-01", None),
            ("e2", "u2", "th", None, "2013-01-01", None),
        ],
        contacts=[
            *[("u1", "e1", f"2013-0{m}-10", "reading") for m in (1, 2, 3, 4)],
            *[("u2", "e2", f"2013-0{m}-10", "reading") for m in (1, 2, 3, 4)],
        ],
        expected={"u1", "u2"},
        notes=["Any one of copd, diabetes and heart_failure qualifies; none is required."],
    ),
    SpecCase(
        definition="high-risk",
        title="High risk: in receipt with a risk score of at least 0.5",
        period=P,
        users=[
            ("u1", "A", None, 0.5),
            ("u2", "A", None, 0.49),
            ("u3", "A", None, None),
            ("u4", "A", None, 0.9),
        ],
        enrolments=[
            ("e1", "u1", "tc", None, "2013-01-01", None),  # exactly at the threshold
            ("e2", "u2", "tc", None, "2013-01-01", None),
            ("e3", "u3", "tc", None, "2013-01-01", None),  # no score: not counted
            ("e4", "u4", "tc", "2013-01-01", None, None),  # high risk, never installed
        ],
        expected={"u1"},
    ),
    SpecCase(
        definition="multi-sector",
        title="Multi-sector: services in at least two sectors during the period",
        period=P,
        users=[(f"u{i}", "A", None, None) for i in range(1, 5)],
        enrolments=[
            ("e1", "u1", "th", None, "2013-01-01", None),  # health
            ("e2", "u1", "tc", None, "2013-06-01", None),  # social care
            ("e3", "u2", "tc", None, "2013-01-01", None),  # social care twice: one sector
            ("e4", "u2", "tc", None, "2013-02-01", None),
            ("e5", "u3", "th", None, "2013-01-01", None),  # health
            ("e6", "u3", "tch", None, "2012-01-01", "2012-12-31"),  # housing ended before
            ("e7", "u4", "th", None, "2013-01-01", None),  # health
            ("e8", "u4", "tco", None, "2013-11-01", None),  # third sector
        ],
        expected={"u1", "u4"},
    ),
)

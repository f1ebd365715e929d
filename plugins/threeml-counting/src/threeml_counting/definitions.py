"""The standard counting definitions, exactly as threeml's design brief defines them.

P is the evaluation period ``[start, end]``, both days inclusive. Each
definition is an ordered list of criteria from threeml's vocabulary, so its
attrition reads in order; natural parameters (the 28 days of *active*, the 4
readings of *active-telehealth*, the 0.5 risk threshold) are fields of the
criteria and listed in ``parameters``, so ``definition.variant(...)`` makes a
variant without copying the rest.
"""

from __future__ import annotations

from threeml import Unit
from threeml.definitions import (
    ContactsAtLeast,
    CountingDefinition,
    EnrolmentOverlaps,
    FirstInstalledIn,
    HasCondition,
    InstalledIn,
    ReferredIn,
    RiskAtLeast,
    SectorsAtLeast,
    Window,
)

VERSION = "1"

ACTIVE_DAYS = 28
CENSUS_DAYS = 7
READINGS = 4
RISK_THRESHOLD = 0.5
SECTORS = 2
LONG_TERM_CONDITIONS = frozenset({"copd", "diabetes", "heart_failure"})

_TELEHEALTH_ENROLMENT = EnrolmentOverlaps(service_kinds={"telehealth"})
_READINGS = ContactsAtLeast(count=READINGS, contact_kinds={"reading"}, service_kinds={"telehealth"})

CONNECTIONS = CountingDefinition(
    name="connections",
    version=VERSION,
    unit=Unit.ENROLMENTS,
    title="Connections installed in the period",
    description=(
        "Counts enrolments, not people: every enrolment whose installation date falls in the "
        "period, whatever the kind of service. One person with a pendant alarm and a telehealth "
        "monitor is two connections."
    ),
    origin=(
        "The unit of the 2012 3millionlives headline of '104,000 new users', which added up "
        "telecare, telehealth and telecoaching connections, most of them pendant alarms."
    ),
    criteria=(InstalledIn(),),
)

REFERRED = CountingDefinition(
    name="referred",
    version=VERSION,
    title="People referred in the period",
    description=(
        "People with at least one enrolment referred in the period, whether or not anything was "
        "ever installed."
    ),
    origin=(
        "Intention to treat, as in the Whole System Demonstrator trial: everyone offered the "
        "service counts, including those who declined or never had it installed."
    ),
    criteria=(ReferredIn(),),
)

IN_RECEIPT = CountingDefinition(
    name="in-receipt",
    version=VERSION,
    title="People in receipt of a service during the period",
    description=(
        "People with an installed enrolment of any kind at some time in the period: installed on "
        "or before the period's last day and not ended before its first day."
    ),
    origin="The caseload view used in social-care returns: anyone with a service during the year.",
    criteria=(EnrolmentOverlaps(),),
)

CENSUS = CountingDefinition(
    name="census",
    version=VERSION,
    title="People in receipt during the census week",
    description=(
        f"People with an installed enrolment at some time in the census week, the last "
        f"{CENSUS_DAYS} days of the period [end-6, end]. A snapshot, not a flow."
    ),
    origin="A census week, as in Scotland's social-care survey of telecare users.",
    criteria=(EnrolmentOverlaps(window=Window(last_days=CENSUS_DAYS)),),
    parameters={"census_days": CENSUS_DAYS},
)

NEW_USERS = CountingDefinition(
    name="new-users",
    version=VERSION,
    title="New users: first ever installation in the period",
    description=(
        "People whose earliest installation over all their enrolments falls in the period. "
        "Someone who had a pendant alarm before and now gets telehealth is not new."
    ),
    origin=(
        "What '104,000 new users' should have meant: people, counted once, starting their first "
        "service."
    ),
    criteria=(FirstInstalledIn(),),
)

TELEHEALTH = CountingDefinition(
    name="telehealth",
    version=VERSION,
    title="People with telehealth during the period",
    description=(
        "People with an installed telehealth enrolment at some time in the period; pendant "
        "alarms and other telecare do not count."
    ),
    origin="The 3millionlives programme's separation of telehealth from telecare.",
    criteria=(_TELEHEALTH_ENROLMENT,),
)

ACTIVE = CountingDefinition(
    name="active",
    version=VERSION,
    title=f"Active users: used a service in the last {ACTIVE_DAYS} days",
    description=(
        f"People with at least one counting contact (dated inside its own enrolment's installed "
        f"window) in the last {ACTIVE_DAYS} days of the period, [end-{ACTIVE_DAYS - 1}, end]."
    ),
    origin="'How many actually used it last month?': the monthly active user of digital services.",
    criteria=(ContactsAtLeast(count=1, window=Window(last_days=ACTIVE_DAYS)),),
    parameters={"days": ACTIVE_DAYS},
)

ACTIVE_TELEHEALTH = CountingDefinition(
    name="active-telehealth",
    version=VERSION,
    title=f"Active telehealth users: at least {READINGS} readings in the period",
    description=(
        f"People with a telehealth enrolment in the period who sent at least {READINGS} counting "
        "readings on telehealth enrolments dated in the period."
    ),
    origin="Telehealth that is used, not merely installed: monitoring needs readings.",
    criteria=(_TELEHEALTH_ENROLMENT, _READINGS),
    parameters={"readings": READINGS},
)

LTC_TELEHEALTH = CountingDefinition(
    name="ltc-telehealth",
    version=VERSION,
    title="Active telehealth users with a long-term condition",
    description=(
        "Active telehealth users with at least one of COPD, diabetes or heart failure: the "
        "people with long-term conditions the programme was meant for."
    ),
    origin=(
        "The Whole System Demonstrator telehealth arm recruited people with COPD, diabetes or "
        "heart failure."
    ),
    criteria=(_TELEHEALTH_ENROLMENT, _READINGS, HasCondition(LONG_TERM_CONDITIONS)),
    parameters={"readings": READINGS, "conditions": sorted(LONG_TERM_CONDITIONS)},
)

HIGH_RISK = CountingDefinition(
    name="high-risk",
    version=VERSION,
    title="High-risk people in receipt",
    description=(
        f"People in receipt of a service during the period whose risk score is at least "
        f"{RISK_THRESHOLD:g}. People without a risk score are not counted."
    ),
    origin="Risk stratification, which the programme promised to target services with.",
    criteria=(EnrolmentOverlaps(), RiskAtLeast(RISK_THRESHOLD)),
    parameters={"threshold": RISK_THRESHOLD},
)

MULTI_SECTOR = CountingDefinition(
    name="multi-sector",
    version=VERSION,
    title="People served across sectors",
    description=(
        f"People whose enrolments in receipt during the period are with services in at least "
        f"{SECTORS} sectors (health, social care, housing, the third sector)."
    ),
    origin="Integrated care: measurement across health, social care, housing and the third sector.",
    criteria=(EnrolmentOverlaps(), SectorsAtLeast(count=SECTORS)),
    parameters={"sectors": SECTORS},
)

#: The standard definitions, loosest first as the comparison reads them.
STANDARD: tuple[CountingDefinition, ...] = (
    CONNECTIONS,
    REFERRED,
    IN_RECEIPT,
    CENSUS,
    NEW_USERS,
    TELEHEALTH,
    ACTIVE,
    ACTIVE_TELEHEALTH,
    LTC_TELEHEALTH,
    HIGH_RISK,
    MULTI_SECTOR,
)

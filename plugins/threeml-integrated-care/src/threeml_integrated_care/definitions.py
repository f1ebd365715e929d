"""The integrated-care metric definitions, and the two populations they add.

Common rules (repeated in each description where they matter):

- P is the evaluation period ``[start, end]``, both days inclusive; E is the
  dataset's extract date (the last day its data cover; P's end when the data
  hold no dates).
- A person's date of death is their earliest ``death`` outcome. Follow-up runs
  up to and including that day and never past E.
- Day counts include both ends; a person-year is 365.25 days.
- The *index* of a person is the earliest ``installed_on`` over all their
  enrolments of the index kinds (telehealth unless the metric says otherwise).
- The population is a counting definition, by name; any other can be chosen
  (``threeml metric NAME --population DEF``). Breakdowns are by a users column
  (``--by area``).
"""

from __future__ import annotations

from threeml.definitions import (
    CountingDefinition,
    FirstInstalledIn,
    Measure,
    MetricDefinition,
)
from threeml_integrated_care.coverage_definitions import COVERAGE_METRICS
from threeml_integrated_care.queries import AllocatedInPeriod

__all__ = [
    "AE_ATTENDANCES_RATE",
    "ARM_COMPARISON",
    "ARM_COMPARISON_ADMISSIONS",
    "BED_DAYS_PER_HEAD",
    "COST_PER_USER_YEAR",
    "COUNTING",
    "EMERGENCY_ADMISSIONS_BEFORE_AFTER",
    "EMERGENCY_ADMISSION_12M",
    "METRICS",
    "MORTALITY_12M",
    "MULTI_SECTOR_SHARE",
    "NEW_TELEHEALTH_USERS",
    "PROGRESS_TO_TARGET",
    "REFERRAL_TO_INSTALLATION",
    "RETENTION_91D",
    "TRIAL_PARTICIPANTS",
    "USER_YEARS",
]

VERSION = "1"

_COMMON = (
    "P is the period [start, end], both days inclusive; E is the extract date (the last day the "
    "data cover). A person's date of death is their earliest death outcome; follow-up includes "
    "that day and stops there, and never runs past E. Days are counted inclusively and a "
    "person-year is 365.25 days."
)

_BY_AREA = (
    "Breakdowns by area (or another users column) give each group's numerator and denominator, "
    "which sum to the total; below all areas they are published under disclosure control."
)

# Populations the standard counting definitions do not already supply.

NEW_TELEHEALTH_USERS = CountingDefinition(
    name="new-telehealth-users",
    version=VERSION,
    title="People whose first telehealth installation fell in the period",
    description=(
        "People whose earliest telehealth installed_on, over all their telehealth enrolments, "
        "lies in the period. That date is their index date in the before/after and 12-month "
        "metrics."
    ),
    origin="DESIGN.md: the population of emergency-admissions-before-after.",
    criteria=(FirstInstalledIn(service_kinds={"telehealth"}),),
)

TRIAL_PARTICIPANTS = CountingDefinition(
    name="trial-participants",
    version=VERSION,
    title="People allocated to a trial arm in the period",
    description=(
        "People with at least one row in the allocations table whose allocated_on lies in the "
        "period, in either arm, whatever happened after (intention to treat)."
    ),
    origin="The population of arm-comparison.",
    criteria=(AllocatedInPeriod(),),
)

COUNTING = (NEW_TELEHEALTH_USERS, TRIAL_PARTICIPANTS)

# The four metrics with exact semantics in DESIGN.md.

USER_YEARS = MetricDefinition(
    name="user-years",
    version=VERSION,
    title="User-years of technology-enabled care in the period",
    description=(
        "user-years = sum over people of |union of their installed windows ∩ [start, min(end, E, "
        "date of death)]| / 365.25. "
        "Over in-receipt people: each enrolment's installed window [installed_on, ended_on] "
        "(open-ended when ended_on is empty) is clipped to the period, to E and to the person's "
        "death; the days covered by the union of a person's windows are counted once, however "
        "many services overlap. A person with no follow-up left (say, who died before the "
        "period) contributes none. "
        "Numerator: user-years; denominator: people in the population; value: user-years (the "
        "mean per person is a detail). "
        f"{_COMMON} {_BY_AREA}"
    ),
    origin="DESIGN.md, the standard integrated-care metrics.",
    population="in-receipt",
    measure=Measure("user-years"),
    higher_is_better=True,
)

EMERGENCY_ADMISSIONS_BEFORE_AFTER = MetricDefinition(
    name="emergency-admissions-before-after",
    version=VERSION,
    title="Emergency admissions in the year before and the year after telehealth started",
    description=(
        "rate ratio = (admissions after / person-years after) / (admissions before / person-years "
        "before). "
        "Cohort: population members whose index (earliest telehealth installed_on over all their "
        "enrolments) lies in P; others are left out and counted by reason. Before window: "
        "[index-365, index-1], cut at E; 365 days of person-time (the person was alive, since "
        "they were alive at the index). After window: [index, index+364], ending at the earliest "
        "of index+364, the date of death and E; no follow-up left means no person-time. For "
        "each window: emergency_admission outcomes dated in it, person-years and the rate per "
        "1,000 person-years with Byar's 95% interval; the rate ratio after/before has a 95% "
        "interval exp(ln RR ± 1.96·√(1/events after + 1/events before)). "
        "Numerator: admissions in both windows; denominator: people in the cohort; value: the "
        "rate ratio (none, with the reason, when there are no admissions before). "
        f"{_COMMON} {_BY_AREA}"
    ),
    origin="DESIGN.md, the standard integrated-care metrics.",
    population="new-telehealth-users",
    measure=Measure(
        "before-after",
        {"outcome": "emergency_admission", "index_kinds": ["telehealth"], "days": 365},
    ),
    higher_is_better=False,
)

ARM_COMPARISON = MetricDefinition(
    name="arm-comparison",
    version=VERSION,
    title="Trial arms compared: 12-month mortality, intervention against control",
    description=(
        "odds ratio = (a/b) / (c/d), where a of the intervention arm's a+b people and c of the "
        "control arm's c+d had the outcome. "
        "Allocations: the population's rows in the allocations table dated in P (the first per "
        "trial and person). For each arm, the proportion of people with at least one outcome "
        "(default death) in [allocated_on, allocated_on+364], with a Wilson 95% interval; the "
        "odds ratio intervention/control with Woolf's 95% interval exp(ln OR ± "
        "1.96·√(1/a+1/b+1/c+1/d)) (left out, with the reason, when a cell is zero: no "
        "continuity correction); the risk difference p_intervention − p_control with a Wald "
        "interval; the relative risk with its log-scale interval, and the relative reduction "
        "1 − p_intervention/p_control. Intention to treat: everyone allocated counts, and the "
        "window is not cut at the extract date (people whose window runs past it are counted in "
        "short_follow_up). Each trial is reported under 'trials'; the headline is the trial "
        "chosen with the option trial=NAME, or the only one. An empty arm gives no ratio and "
        "says so. Options: outcome, outcome_measure (binary, or count: events per head per "
        "arm and their rate ratio), days, trial. "
        "Numerator: people with the outcome, both arms; denominator: people allocated, both "
        "arms; value: the odds ratio. "
        f"{_BY_AREA}"
    ),
    origin=(
        "DESIGN.md; the Whole System Demonstrator telehealth trial reported 12-month mortality "
        "of 4.6% (intervention, n = 1,570) against 8.3% (control, n = 1,584)."
    ),
    population="trial-participants",
    measure=Measure(
        "arm-comparison", {"outcome": "death", "outcome_measure": "binary", "days": 365}
    ),
    higher_is_better=False,
)

ARM_COMPARISON_ADMISSIONS = MetricDefinition(
    name="arm-comparison-admissions",
    version=VERSION,
    title="Trial arms compared: emergency admissions per head in 12 months",
    description=(
        "rate ratio = (e1/n1) / (e0/n0): e1 emergency admissions among the n1 people of the "
        "intervention arm and e0 among the n0 of the control arm, each dated in [allocated_on, "
        "allocated_on+364]. "
        "As arm-comparison, for a count outcome: events per head in each arm (with Byar's 95% "
        "interval divided by the arm's size) and their rate ratio with the 95% interval "
        "exp(ln RR ± 1.96·√(1/e1 + 1/e0)); undefined, with the reason, when the control arm has "
        "no events or an arm is empty. "
        "Numerator: admissions, both arms; denominator: people allocated, both arms; value: the "
        "rate ratio. "
        f"{_BY_AREA}"
    ),
    origin="The count-outcome form of DESIGN.md's arm comparison.",
    population="trial-participants",
    measure=Measure(
        "arm-comparison",
        {"outcome": "emergency_admission", "outcome_measure": "count", "days": 365},
    ),
    higher_is_better=False,
)

MULTI_SECTOR_SHARE = MetricDefinition(
    name="multi-sector-share",
    version=VERSION,
    title="Share of people in receipt whose services span two or more sectors",
    description=(
        "share = multi-sector people / in-receipt people, for the same P and group. "
        "Numerator: people counted by both the population (in-receipt) and multi-sector (services "
        "in at least 2 distinct sectors whose installed windows overlap P); denominator: the "
        "population; value: the share, with a Wilson 95% interval. "
        f"{_BY_AREA}"
    ),
    origin="DESIGN.md, the standard integrated-care metrics.",
    population="in-receipt",
    measure=Measure("proportion", {"numerator": "multi-sector"}),
    higher_is_better=True,
)

# The second list.

_TWELVE_MONTHS = (
    "Cohort: population members whose index (earliest telehealth installed_on over all their "
    "enrolments) lies in P and whose whole window [index, index+364] ends on or before E, so "
    "everyone in it can be followed for 12 months (people who die within the 12 months stay "
    "in). Left out, and counted by reason: no telehealth installation, first installation "
    "outside P, fewer than 365 days between the index and E."
)

EMERGENCY_ADMISSION_12M = MetricDefinition(
    name="emergency-admission-12m",
    version=VERSION,
    title="People with an emergency admission within 12 months of starting telehealth",
    description=(
        "proportion = people with at least one emergency_admission dated in [index, index+364] / "
        f"people in the cohort. {_TWELVE_MONTHS} "
        "Numerator: people with an admission; denominator: the cohort; value: the proportion, "
        f"with a Wilson 95% interval. {_COMMON} {_BY_AREA}"
    ),
    origin="3millionlives: did emergency admissions fall after telehealth started?",
    population="new-telehealth-users",
    measure=Measure(
        "outcome-within",
        {"outcome": "emergency_admission", "index_kinds": ["telehealth"], "days": 365},
    ),
    higher_is_better=False,
)

MORTALITY_12M = MetricDefinition(
    name="mortality-12m",
    version=VERSION,
    title="Deaths within 12 months of starting telehealth",
    description=(
        "proportion = people with a death outcome dated in [index, index+364] / people in the "
        f"cohort. {_TWELVE_MONTHS} "
        "Numerator: people who died; denominator: the cohort; value: the proportion, with a "
        f"Wilson 95% interval. {_COMMON} {_BY_AREA}"
    ),
    origin="The outcome the Whole System Demonstrator trial reported at 12 months.",
    population="new-telehealth-users",
    measure=Measure(
        "outcome-within", {"outcome": "death", "index_kinds": ["telehealth"], "days": 365}
    ),
    higher_is_better=False,
)

BED_DAYS_PER_HEAD = MetricDefinition(
    name="bed-days-per-head",
    version=VERSION,
    title="Hospital bed days per person in receipt",
    description=(
        "bed days per head = sum of length of stay of admissions / people in the population. "
        "Admissions: the population's emergency_admission and elective_admission outcomes dated "
        "in [start, min(end, E)]; each adds its value (length of stay in days) in full, even "
        "when the stay runs past the period; an admission without a value adds none and is "
        "counted in admissions_without_stay. Care-home admissions are not hospital bed days. "
        "Numerator: bed days; denominator: people in the population (everyone, with or without "
        "an admission); value: bed days per person. "
        f"{_COMMON} {_BY_AREA}"
    ),
    origin="A standard secondary-care use measure of telehealth evaluations.",
    population="in-receipt",
    measure=Measure("bed-days", {"outcomes": ["elective_admission", "emergency_admission"]}),
    higher_is_better=False,
)

AE_ATTENDANCES_RATE = MetricDefinition(
    name="ae-attendances-rate",
    version=VERSION,
    title="A&E attendances per 1,000 person-years in receipt",
    description=(
        "rate = ae_attendance outcomes on days in receipt / person-years in receipt × 1,000. "
        "Person-time as for user-years: the union of each person's installed windows within P, "
        "cut at death and at E, each day counted once. An attendance counts when it is dated on "
        "one of those days (not while the person had no service). "
        "Numerator: attendances; denominator: person-years; value: the rate per 1,000 "
        "person-years with Byar's 95% interval. "
        f"{_COMMON} {_BY_AREA}"
    ),
    origin="A standard secondary-care use measure of telehealth evaluations.",
    population="in-receipt",
    measure=Measure("event-rate", {"outcome": "ae_attendance", "per": 1000}),
    higher_is_better=False,
)

RETENTION_91D = MetricDefinition(
    name="retention-91d",
    version=VERSION,
    title="People still in receipt 91 days after installation",
    description=(
        "retention = people still in receipt on day index+91 / people installed in the period, "
        "less those who died or moved into a care home. "
        "Index: a population member's earliest installed_on within P (any kind); members with "
        "no installation in P are left out. Retained: an installed window of theirs covers day "
        "index+91. Not observable, and left out: index+91 after E. Of those not retained, left "
        "out (and tabled): people whose last enrolment to end before that day ended with "
        "end_reason died or care_home, who have a death outcome on or before it, or a "
        "care_home_admission outcome in [index, index+91]. Everyone else not retained has left; "
        "their end reasons (the end_reason of the last enrolment to end, or not recorded) are "
        "tabled under end_reasons. "
        "Numerator: retained; denominator: retained + left; value: the proportion, with a Wilson "
        f"95% interval. {_COMMON} {_BY_AREA}"
    ),
    origin="3millionlives: people who left were never subtracted from the headline.",
    population="in-receipt",
    measure=Measure("retention", {"days": 91}),
    higher_is_better=True,
)

REFERRAL_TO_INSTALLATION = MetricDefinition(
    name="referral-to-installation",
    version=VERSION,
    title="Days from referral to installation",
    description=(
        "days = installed_on − referred_on, for each of the population's enrolments installed "
        "in P (an enrolment, not a person: someone installed twice waits twice). "
        "Enrolments without a referral date are left out and counted. Median and quartiles by "
        "linear interpolation between order statistics (numpy's default, DuckDB's "
        "quantile_cont), and the share installed within 28 days (days ≤ 28) with a Wilson 95% "
        "interval. "
        "Numerator: installations within 28 days; denominator: installations with a referral "
        "date; value: the median days. Below all areas the median and quartiles are published "
        "only where the number of installations is. "
        f"{_BY_AREA}"
    ),
    origin="Waiting for equipment was a recurring complaint in the 3millionlives pathfinders.",
    population="in-receipt",
    measure=Measure("waiting-time", {"days": 28}),
    higher_is_better=False,
)

COST_PER_USER_YEAR = MetricDefinition(
    name="cost-per-user-year",
    version=VERSION,
    title="Service cost per user-year",
    description=(
        "cost per user-year = sum over enrolments of days in receipt × annual_cost / 365.25 / "
        "user-years. "
        "Each enrolment's installed window is clipped to P, E and the person's death, as for "
        "user-years, and costed at its service's annual_cost; overlapping enrolments are each "
        "costed (two services cost twice) while user-years count each day once. Services with "
        "no annual_cost are not costed: their enrolment-years are reported and the value then "
        "understates the cost. "
        "Numerator: cost; denominator: user-years; value: cost per user-year. "
        f"{_COMMON} {_BY_AREA}"
    ),
    origin="What a year of technology-enabled care costs, from the services' own prices.",
    population="in-receipt",
    measure=Measure("cost-per-user-year"),
    higher_is_better=False,
)

PROGRESS_TO_TARGET = MetricDefinition(
    name="progress-to-target",
    version=VERSION,
    title="Progress to target, with a projection to the due date",
    description=(
        "progress = count / target; projection = count + trend per day × days to the due date. "
        "Count: the population counted over [start, T] with T = min(end, E). Target: the "
        "targets table's rows whose definition is the population's name; per area, the row "
        "with the earliest due date on or after T (else the latest); for the total, the 'all' "
        "row, else the sum of the areas' targets. Trend: (count over [start, T] − count over "
        "[start, T−91]) / 91 per day (over [start, T] when P is shorter). Projection to the due "
        "date: linear from T; when the due date has passed, the count itself. On track: the "
        "projection reaches the target. The count over [start, t] grows with t for the "
        "standard cumulative definitions (in-receipt, telehealth, new-users); for window-based "
        "ones (active, census) the trend is only the recent change. Option: trend_days. "
        "Numerator: the count; denominator: the target; value: count / target. Below all areas "
        "counts are rounded and the projection is computed from the rounded counts. "
        "A group with no target has no value."
    ),
    origin="3millionlives pathfinders could not say how far they were from 10,000 users.",
    population="telehealth",
    measure=Measure("progress-to-target", {"trend_days": 91}),
    higher_is_better=True,
)

METRICS = (
    USER_YEARS,
    EMERGENCY_ADMISSIONS_BEFORE_AFTER,
    ARM_COMPARISON,
    ARM_COMPARISON_ADMISSIONS,
    MULTI_SECTOR_SHARE,
    EMERGENCY_ADMISSION_12M,
    MORTALITY_12M,
    BED_DAYS_PER_HEAD,
    AE_ATTENDANCES_RATE,
    RETENTION_91D,
    REFERRAL_TO_INSTALLATION,
    COST_PER_USER_YEAR,
    PROGRESS_TO_TARGET,
    *COVERAGE_METRICS,
)

"""Hand-written DuckDB SQL for every metric of the integrated-care plugin, by family.

What an analyst would write from DESIGN.md and the metrics' descriptions, with no threeml code:
each family is one query over views of the extract's Parquet files, giving the raw cells of
every metric of the family for each area and (the ROLLUP row, area NULL) in total. A column
named ``"metric:cell"`` holds ``cell`` of ``metric``, with the names threeml's measure kinds
give their cells, so the benchmark compares them one by one.

Placeholders: ``{s}``, ``{e}`` (the period), ``{x}`` (the extract date), ``{stop}`` (the earlier
of the period's end and the extract date), ``{then}`` (the start of progress-to-target's trend),
``{year}`` (the calendar year of the period's midpoint), ``{end_year}`` (the period end's year).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

__all__ = ["FAMILIES", "SQL", "placeholders"]

FAR = "DATE '9999-12-31'"

#: Users with an enrolment whose installed window overlaps P.
IN_RECEIPT = f"""
in_receipt AS (
    SELECT DISTINCT user_id FROM enrolments
    WHERE installed_on IS NOT NULL AND installed_on <= {{e}}
      AND coalesce(ended_on, {FAR}) >= {{s}}
), died AS (
    SELECT user_id, min(date) AS died_on FROM outcomes WHERE kind = 'death' GROUP BY user_id
)"""

PERSON_TIME = f"""
WITH {IN_RECEIPT}, w AS (
    SELECT e.user_id, e.enrolment_id, s.annual_cost,
           greatest(e.installed_on, {{s}}) AS lo,
           least(coalesce(e.ended_on, {FAR}), coalesce(d.died_on, {FAR}), {{stop}}) AS hi
    FROM enrolments e JOIN services s USING (service_id) SEMI JOIN in_receipt USING (user_id)
    LEFT JOIN died d USING (user_id)
    WHERE e.installed_on IS NOT NULL
), w2 AS (SELECT * FROM w WHERE lo <= hi),
o AS (
    SELECT *, max(hi) OVER (PARTITION BY user_id ORDER BY lo, hi, enrolment_id
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM w2
), g AS (
    SELECT *, sum(CASE WHEN reach IS NULL OR lo > reach THEN 1 ELSE 0 END)
              OVER (PARTITION BY user_id ORDER BY lo, hi, enrolment_id) AS island
    FROM o
), islands AS (
    SELECT user_id, min(lo) AS lo, max(hi) AS hi FROM g GROUP BY user_id, island
), days AS (
    SELECT user_id, sum(hi - lo + 1) AS days FROM islands GROUP BY user_id
), events AS (
    SELECT i.user_id, count(*) AS events FROM islands i
    JOIN outcomes x ON x.user_id = i.user_id AND x.kind = 'ae_attendance'
                   AND x.date BETWEEN i.lo AND i.hi
    GROUP BY i.user_id
), cost AS (
    SELECT user_id,
           sum((hi - lo + 1) * coalesce(annual_cost, 0) / 365.25) AS cost,
           sum(hi - lo + 1) AS enrolment_days,
           sum(CASE WHEN annual_cost IS NULL THEN hi - lo + 1 ELSE 0 END) AS uncosted_days
    FROM w2 GROUP BY user_id
), f AS (
    SELECT u.area, coalesce(days.days, 0) AS days, coalesce(events.events, 0) AS events,
           coalesce(cost.cost, 0) AS cost, coalesce(cost.enrolment_days, 0) AS enrolment_days,
           coalesce(cost.uncosted_days, 0) AS uncosted_days
    FROM in_receipt JOIN users u USING (user_id)
    LEFT JOIN days USING (user_id) LEFT JOIN events USING (user_id) LEFT JOIN cost USING (user_id)
)
SELECT area,
       count(*) AS "user-years:people", sum(days) AS "user-years:days",
       count(*) FILTER (WHERE days = 0) AS "user-years:no_follow_up",
       count(*) AS "ae-attendances-rate:people", sum(events) AS "ae-attendances-rate:events",
       sum(days) AS "ae-attendances-rate:days",
       count(*) AS "cost-per-user-year:people", sum(days) AS "cost-per-user-year:days",
       sum(cost) AS "cost-per-user-year:cost",
       sum(enrolment_days) AS "cost-per-user-year:enrolment_days",
       sum(uncosted_days) AS "cost-per-user-year:uncosted_days"
FROM f GROUP BY ROLLUP (area)
"""

#: Cohorts indexed on the first telehealth installation (over all of a person's enrolments).
COHORTS = f"""
WITH died AS (
    SELECT user_id, min(date) AS died_on FROM outcomes WHERE kind = 'death' GROUP BY user_id
), first_th AS (
    SELECT e.user_id, min(e.installed_on) AS index_on
    FROM enrolments e JOIN services s USING (service_id)
    WHERE s.kind = 'telehealth' AND e.installed_on IS NOT NULL GROUP BY e.user_id
), c AS (
    SELECT f.user_id, f.index_on, d.died_on FROM first_th f LEFT JOIN died d USING (user_id)
    WHERE f.index_on BETWEEN {{s}} AND {{e}}
), ev AS (
    SELECT c.user_id,
        count(*) FILTER (WHERE o.kind = 'emergency_admission'
            AND o.date BETWEEN c.index_on - 365 AND least(c.index_on - 1, {{x}})) AS before,
        count(*) FILTER (WHERE o.kind = 'emergency_admission'
            AND o.date BETWEEN c.index_on
                AND least(c.index_on + 364, coalesce(c.died_on, {FAR}), {{x}})) AS after,
        count(*) FILTER (WHERE o.kind = 'emergency_admission'
            AND o.date BETWEEN c.index_on AND c.index_on + 364) AS admitted,
        count(*) FILTER (WHERE o.kind = 'death'
            AND o.date BETWEEN c.index_on AND c.index_on + 364) AS dead
    FROM c JOIN outcomes o ON o.user_id = c.user_id
    WHERE o.kind IN ('emergency_admission', 'death') GROUP BY c.user_id
), f AS (
    SELECT u.area, c.index_on, c.died_on, coalesce(ev.before, 0) AS before,
           coalesce(ev.after, 0) AS after, coalesce(ev.admitted, 0) AS admitted,
           coalesce(ev.dead, 0) AS dead, c.index_on + 364 <= {{x}} AS whole
    FROM c JOIN users u USING (user_id) LEFT JOIN ev USING (user_id)
)
SELECT area,
    count(*) AS "emergency-admissions-before-after:people",
    sum(before) AS "emergency-admissions-before-after:events_before",
    sum(after) AS "emergency-admissions-before-after:events_after",
    sum(greatest(least(index_on - 1, {{x}}) - (index_on - 365) + 1, 0))
        AS "emergency-admissions-before-after:days_before",
    sum(greatest(least(index_on + 364, coalesce(died_on, {FAR}), {{x}}) - index_on + 1, 0))
        AS "emergency-admissions-before-after:days_after",
    0 AS "emergency-admissions-before-after:no_index",
    0 AS "emergency-admissions-before-after:index_outside_period",
    count(*) FILTER (WHERE whole) AS "emergency-admission-12m:people",
    count(*) FILTER (WHERE whole AND admitted > 0) AS "emergency-admission-12m:with_outcome",
    count(*) FILTER (WHERE NOT whole) AS "emergency-admission-12m:short_follow_up",
    count(*) FILTER (WHERE whole) AS "mortality-12m:people",
    count(*) FILTER (WHERE whole AND dead > 0) AS "mortality-12m:with_outcome",
    count(*) FILTER (WHERE NOT whole) AS "mortality-12m:short_follow_up"
FROM f GROUP BY ROLLUP (area)
"""


def _arm_cells(metric: str) -> str:
    return f"""
    count(*) AS "{metric}:people",
    count(*) FILTER (WHERE arm = 'intervention') AS "{metric}:n_intervention",
    count(*) FILTER (WHERE arm = 'control') AS "{metric}:n_control",
    count(*) FILTER (WHERE arm = 'intervention' AND {{events}} > 0) AS "{metric}:a_intervention",
    count(*) FILTER (WHERE arm = 'control' AND {{events}} > 0) AS "{metric}:a_control",
    coalesce(sum({{events}}) FILTER (WHERE arm = 'intervention'), 0) AS "{metric}:e_intervention",
    coalesce(sum({{events}}) FILTER (WHERE arm = 'control'), 0) AS "{metric}:e_control",
    count(*) FILTER (WHERE allocated_on + 364 > {{{{x}}}}) AS "{metric}:short_follow_up"
"""


#: Trial arms: each participant's first allocation in P, outcomes in the 365 days from it.
TRIALS = f"""
WITH a AS (
    SELECT trial, user_id, arg_min(arm, allocated_on) AS arm, min(allocated_on) AS allocated_on
    FROM allocations WHERE allocated_on BETWEEN {{s}} AND {{e}} GROUP BY trial, user_id
), f AS (
    SELECT a.trial, a.user_id, a.arm, a.allocated_on,
           count(o.user_id) FILTER (WHERE o.kind = 'death') AS deaths,
           count(o.user_id) FILTER (WHERE o.kind = 'emergency_admission') AS admissions
    FROM a LEFT JOIN outcomes o ON o.user_id = a.user_id
        AND o.kind IN ('death', 'emergency_admission')
        AND o.date BETWEEN a.allocated_on AND a.allocated_on + 364
    GROUP BY a.trial, a.user_id, a.arm, a.allocated_on
)
SELECT u.area, {_arm_cells("arm-comparison").format(events="deaths")},
    {_arm_cells("arm-comparison-admissions").format(events="admissions")}
FROM f JOIN users u USING (user_id) GROUP BY ROLLUP (u.area)
"""

BED_DAYS = f"""
WITH {IN_RECEIPT}, b AS (
    SELECT user_id, sum(coalesce(value, 0)) AS bed_days, count(*) AS admissions,
           count(*) FILTER (WHERE value IS NULL) AS no_stay
    FROM outcomes WHERE kind IN ('elective_admission', 'emergency_admission')
      AND date BETWEEN {{s}} AND {{stop}} GROUP BY user_id
)
SELECT u.area, count(*) AS "bed-days-per-head:people",
    sum(coalesce(b.bed_days, 0)) AS "bed-days-per-head:bed_days",
    sum(coalesce(b.admissions, 0)) AS "bed-days-per-head:admissions",
    sum(coalesce(b.no_stay, 0)) AS "bed-days-per-head:admissions_without_stay"
FROM in_receipt JOIN users u USING (user_id) LEFT JOIN b USING (user_id)
GROUP BY ROLLUP (u.area)
"""

_REASONS = ("died", "care_home", "hospital", "declined", "abandoned", "moved", "other")
_RANK = "CASE " + " ".join(
    f"WHEN e.end_reason = '{code}' THEN {len(_REASONS) - i}" for i, code in enumerate(_REASONS)
)
_LEFT_REASONS = ",\n    ".join(
    f"count(*) FILTER (WHERE is_left AND reason = '{code}') AS \"retention-91d:reason_{code}\""
    for code in _REASONS
    if code not in ("died", "care_home")
)

#: Retention at 91 days of people first installed in P (any kind).
RETENTION = f"""
WITH {IN_RECEIPT}, idx AS (
    SELECT user_id, min(installed_on) AS index_on, min(installed_on) + 91 AS chk
    FROM enrolments SEMI JOIN in_receipt USING (user_id)
    WHERE installed_on BETWEEN {{s}} AND {{e}} GROUP BY user_id
), cov AS (
    SELECT c.user_id, bool_or(coalesce(e.ended_on, {FAR}) >= c.chk) AS retained,
           arg_max(coalesce(e.end_reason, ''),
                   (e.ended_on - DATE '1900-01-01') * 8 + {_RANK} ELSE 0 END)
               FILTER (WHERE coalesce(e.ended_on, {FAR}) < c.chk) AS reason
    FROM idx c JOIN enrolments e ON e.user_id = c.user_id
    WHERE e.installed_on IS NOT NULL AND e.installed_on <= c.chk GROUP BY c.user_id
), care AS (
    SELECT DISTINCT c.user_id FROM idx c JOIN outcomes o ON o.user_id = c.user_id
    WHERE o.kind = 'care_home_admission' AND o.date BETWEEN c.index_on AND c.chk
), r AS (
    SELECT p.user_id, i.index_on, i.chk, coalesce(cov.retained, false) AS retained,
           coalesce(cov.reason, '') AS reason, care.user_id IS NOT NULL AS care, d.died_on,
           i.index_on IS NOT NULL AND i.chk <= {{x}} AS observable
    FROM in_receipt p LEFT JOIN idx i USING (user_id) LEFT JOIN cov USING (user_id)
    LEFT JOIN care USING (user_id) LEFT JOIN died d USING (user_id)
), r2 AS (
    SELECT *, observable AND NOT retained AS gone FROM r
), r3 AS (
    SELECT *, gone AND (reason = 'died' OR coalesce(died_on, {FAR}) <= chk) AS is_died FROM r2
), r4 AS (
    SELECT *, gone AND NOT is_died AND (reason = 'care_home' OR care) AS is_care FROM r3
), f AS (
    SELECT *, gone AND NOT is_died AND NOT is_care AS is_left FROM r4
)
SELECT u.area,
    count(*) FILTER (WHERE (observable AND retained) OR is_left) AS "retention-91d:people",
    count(*) FILTER (WHERE observable AND retained) AS "retention-91d:retained",
    count(*) FILTER (WHERE is_left) AS "retention-91d:left",
    count(*) FILTER (WHERE is_died) AS "retention-91d:died",
    count(*) FILTER (WHERE is_care) AS "retention-91d:care_home",
    count(*) FILTER (WHERE index_on IS NOT NULL AND NOT observable) AS "retention-91d:too_recent",
    count(*) FILTER (WHERE index_on IS NULL) AS "retention-91d:not_installed",
    {_LEFT_REASONS},
    count(*) FILTER (WHERE is_left AND reason = '') AS "retention-91d:reason_not_recorded"
FROM f JOIN users u USING (user_id) GROUP BY ROLLUP (u.area)
"""

#: Days from referral to installation of in-receipt people's enrolments installed in P.
WAITING = f"""
WITH {IN_RECEIPT}, w AS (
    SELECT user_id, CASE WHEN referred_on IS NOT NULL THEN installed_on - referred_on END AS wait
    FROM enrolments SEMI JOIN in_receipt USING (user_id)
    WHERE installed_on BETWEEN {{s}} AND {{e}}
)
SELECT u.area,
    count(wait) AS "referral-to-installation:installations",
    count(*) FILTER (WHERE wait <= 28) AS "referral-to-installation:within",
    count(*) FILTER (WHERE wait IS NULL) AS "referral-to-installation:unmeasured",
    quantile_cont(wait, 0.5) AS "referral-to-installation:median",
    quantile_cont(wait, 0.25) AS "referral-to-installation:q1",
    quantile_cont(wait, 0.75) AS "referral-to-installation:q3"
FROM w JOIN users u USING (user_id) GROUP BY ROLLUP (u.area)
"""

#: Telehealth users at the extract date and at the start of the trend, against the targets.
TARGETS = f"""
WITH th AS (
    SELECT e.user_id,
           bool_or(e.installed_on <= {{stop}}) AS now_,
           bool_or(e.installed_on <= {{then}}) AS then_
    FROM enrolments e JOIN services s USING (service_id)
    WHERE s.kind = 'telehealth' AND e.installed_on IS NOT NULL
      AND coalesce(e.ended_on, {FAR}) >= {{s}} AND e.installed_on <= {{stop}}
    GROUP BY e.user_id
), counted AS (
    SELECT u.area, count(*) FILTER (WHERE now_) AS people,
           count(*) FILTER (WHERE then_) AS earlier
    FROM th JOIN users u USING (user_id) GROUP BY ROLLUP (u.area)
), due AS (
    SELECT area, coalesce(min(due) FILTER (WHERE due >= {{stop}}), max(due)) AS due
    FROM targets WHERE definition = 'telehealth' GROUP BY area
), chosen AS (
    SELECT t.area, t.value FROM targets t JOIN due USING (area, due)
    WHERE t.definition = 'telehealth'
), goals AS (
    SELECT area, value FROM chosen WHERE area <> 'all'
    UNION ALL
    SELECT NULL, coalesce((SELECT value FROM chosen WHERE area = 'all'),
                          (SELECT sum(value) FROM chosen WHERE area <> 'all'))
)
SELECT coalesce(c.area, g.area) AS area,
    coalesce(c.people, 0) AS "progress-to-target:people",
    coalesce(c.earlier, 0) AS "progress-to-target:earlier",
    g.value AS "progress-to-target:target"
FROM counted c FULL JOIN goals g ON c.area IS NOT DISTINCT FROM g.area
"""


def _population(group: str) -> str:
    where = '"group" IS NULL' if group == "" else f"\"group\" = '{group}'"
    return f"""
    SELECT area, CASE WHEN count(*) FILTER (WHERE sex IS NULL) > 0
                      THEN sum(population) FILTER (WHERE sex IS NULL)
                      ELSE sum(population) END AS population
    FROM populations WHERE {where} AND year = {{year}} GROUP BY area"""


#: In-receipt users by area and age band against the mid-year populations.
COVERAGE = f"""
WITH {IN_RECEIPT}, banded AS (
    SELECT u.area, CASE WHEN u.birth_year IS NULL OR {{end_year}} - u.birth_year < 0
                        THEN 'unknown' ELSE 'known' END AS band
    FROM in_receipt JOIN users u USING (user_id)
), counted AS (
    SELECT area, count(*) AS people, count(*) FILTER (WHERE band = 'unknown') AS unknown_age
    FROM banded GROUP BY ROLLUP (area)
), everyone AS ({_population("")}), eligible AS ({_population("eligible")}),
pops AS (
    SELECT coalesce(a.area, b.area) AS area, a.population AS everyone, b.population AS eligible
    FROM everyone a FULL JOIN eligible b USING (area)
), pops_all AS (
    SELECT area, everyone, eligible FROM pops
    UNION ALL SELECT NULL, sum(everyone), sum(eligible) FROM pops
)
SELECT coalesce(c.area, p.area) AS area,
    coalesce(c.people, 0) AS "coverage-in-receipt:people",
    coalesce(c.unknown_age, 0) AS "coverage-in-receipt:unknown_age",
    coalesce(c.people - c.unknown_age, 0) AS "coverage-in-receipt:standard_events",
    p.everyone AS "coverage-in-receipt:population",
    coalesce(c.people, 0) AS "eligible-reached:people",
    coalesce(c.unknown_age, 0) AS "eligible-reached:unknown_age",
    p.eligible AS "eligible-reached:population"
FROM counted c FULL JOIN pops_all p ON c.area IS NOT DISTINCT FROM p.area
"""

#: The share of in-receipt users with services in two or more sectors.
PROPORTION = f"""
WITH sectors AS (
    SELECT e.user_id, count(DISTINCT s.sector) AS n
    FROM enrolments e JOIN services s USING (service_id)
    WHERE e.installed_on IS NOT NULL AND e.installed_on <= {{e}}
      AND coalesce(e.ended_on, {FAR}) >= {{s}}
    GROUP BY e.user_id
)
SELECT u.area, count(*) AS "multi-sector-share:people",
    count(*) FILTER (WHERE n >= 2) AS "multi-sector-share:members"
FROM sectors JOIN users u USING (user_id) GROUP BY ROLLUP (u.area)
"""

#: Each family's queries and the metrics they give figures for.
FAMILIES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "person-time": (("user-years", "ae-attendances-rate", "cost-per-user-year"), (PERSON_TIME,)),
    "cohorts": (
        ("emergency-admissions-before-after", "emergency-admission-12m", "mortality-12m"),
        (COHORTS,),
    ),
    "trials": (("arm-comparison", "arm-comparison-admissions"), (TRIALS,)),
    "bed-days": (("bed-days-per-head",), (BED_DAYS,)),
    "installations": (("retention-91d", "referral-to-installation"), (RETENTION, WAITING)),
    "targets": (("progress-to-target",), (TARGETS,)),
    "coverage": (("coverage-in-receipt", "eligible-reached"), (COVERAGE,)),
    "proportion": (("multi-sector-share",), (PROPORTION,)),
}

#: Every family's queries, by family name.
SQL = {family: queries for family, (_, queries) in FAMILIES.items()}


def placeholders(start: date, end: date, extract: date, trend_days: int = 91) -> dict[str, str]:
    """The values of the queries' placeholders for the period ``[start, end]``."""
    stop = min(end, extract)
    then = max(start, stop - timedelta(days=trend_days))
    midpoint = start + timedelta(days=(end - start).days // 2)

    def day(d: date) -> str:
        return f"DATE '{d.isoformat()}'"

    return {
        "s": day(start),
        "e": day(end),
        "x": day(extract),
        "stop": day(stop),
        "then": day(then),
        "year": str(midpoint.year),
        "end_year": str(end.year),
    }

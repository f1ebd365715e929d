"""Benchmark: the standard catalogue through threeml against hand-written DuckDB SQL.

Generates (or reuses) a synthetic national extract with ``threeml synth`` and, in
separate processes so each peak memory is its own, times:

* ``threeml``: loading with validation, then the eleven standard counting
  definitions evaluated together (shared criteria) with attrition (both forms)
  and area breakdowns; then each definition on its own;
* ``sql``: an analyst's hand-written DuckDB SQL for the same figures, one query
  per definition over the same Parquet files (``GROUP BY ROLLUP(area)`` gives the
  total and the areas at once);
* ``pandas`` (only with ``--pandas``, meant for small extracts): the same counts
  as an analyst would write them in pandas.

It checks that every count, attrition step and area figure agrees, then prints
wall time, peak memory and the threeml / SQL ratio per definition and in total.

    python benchmarks/catalogue.py --users 3000000          # national scale
    python benchmarks/catalogue.py --users 100000 --pandas  # quick, with pandas
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

PERIOD = "FY2013/14"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- hand-written SQL -------------------------------------------------------------------

EN = """en AS (SELECT e.enrolment_id, e.user_id, e.referred_on, e.installed_on, e.ended_on,
                      s.kind AS service_kind, s.sector
               FROM enrolments e JOIN services s USING (service_id))"""


def _overlap(start: str, end: str) -> str:
    return (
        f"installed_on IS NOT NULL AND installed_on <= {end} AND "
        f"(ended_on IS NULL OR ended_on >= {start})"
    )


def _counting(start: str, end: str, extra: str = "") -> str:
    return (
        "SELECT c.user_id, c.enrolment_id, c.kind, en.service_kind FROM contacts c "
        "JOIN en USING (enrolment_id) "
        f"WHERE c.date BETWEEN {start} AND {end} AND c.date >= en.installed_on "
        f"AND (en.ended_on IS NULL OR c.date <= en.ended_on) {extra}"
    )


def criteria_sql(s: str, e: str) -> dict[str, list[str]]:
    """Per definition: one SELECT of passing user_ids per criterion, in order."""
    overlap = f"SELECT DISTINCT user_id FROM en WHERE {_overlap(s, e)}"
    telehealth = overlap + " AND service_kind = 'telehealth'"
    readings = (
        f"SELECT user_id FROM ({_counting(s, e)} AND c.kind = 'reading' "
        "AND en.service_kind = 'telehealth') GROUP BY user_id HAVING count(*) >= 4"
    )
    return {
        "referred": [f"SELECT DISTINCT user_id FROM en WHERE referred_on BETWEEN {s} AND {e}"],
        "in-receipt": [overlap],
        "census": [f"SELECT DISTINCT user_id FROM en WHERE {_overlap(f'{e} - 6', e)}"],
        "new-users": [
            "SELECT user_id FROM en WHERE installed_on IS NOT NULL GROUP BY user_id "
            f"HAVING min(installed_on) BETWEEN {s} AND {e}"
        ],
        "telehealth": [telehealth],
        "active": [f"SELECT DISTINCT user_id FROM ({_counting(f'{e} - 27', e)})"],
        "active-telehealth": [telehealth, readings],
        "ltc-telehealth": [
            telehealth,
            readings,
            "SELECT user_id FROM users WHERE list_has_any(conditions, "
            "['copd', 'diabetes', 'heart_failure'])",
        ],
        "high-risk": [overlap, "SELECT user_id FROM users WHERE risk_score >= 0.5"],
        "multi-sector": [
            overlap,
            f"SELECT user_id FROM en WHERE {_overlap(s, e)} GROUP BY user_id "
            "HAVING count(DISTINCT sector) >= 2",
        ],
    }


#: The extract date: the latest event date in the data (targets are plans, not events).
EXTRACT_DATE = """
SELECT greatest(
    (SELECT max(date) FROM contacts), (SELECT max(date) FROM outcomes),
    (SELECT max(greatest(referred_on, installed_on, ended_on)) FROM enrolments),
    (SELECT max(allocated_on) FROM read_parquet('{allocations}'))
)
"""

#: Emergency admissions in the year before and after the first telehealth installation.
BEFORE_AFTER = """
WITH {en}, first AS (
    SELECT en.user_id, min(en.installed_on) AS idx
    FROM en WHERE en.service_kind = 'telehealth' AND en.installed_on IS NOT NULL
    GROUP BY en.user_id
), cohort AS (
    SELECT f.user_id, f.idx,
           least(f.idx + 364, coalesce(d.died, {x}), {x}) AS after_end
    FROM first f
    LEFT JOIN (SELECT user_id, min(date) AS died FROM outcomes WHERE kind = 'death'
               GROUP BY user_id) d USING (user_id)
    WHERE f.idx BETWEEN {s} AND {e}
), events AS (
    SELECT c.user_id,
           count(*) FILTER (WHERE o.date BETWEEN c.idx - 365 AND c.idx - 1) AS before,
           count(*) FILTER (WHERE o.date BETWEEN c.idx AND c.after_end) AS after
    FROM cohort c JOIN outcomes o ON o.user_id = c.user_id AND o.kind = 'emergency_admission'
    GROUP BY c.user_id
)
SELECT count(*), coalesce(sum(ev.before), 0), coalesce(sum(ev.after), 0),
       sum(greatest(c.after_end - c.idx + 1, 0))
FROM cohort c LEFT JOIN events ev USING (user_id)
"""

#: Deaths within a year of allocation, per arm, for allocations dated in the period.
ARMS = """
WITH a AS (
    SELECT user_id, trial, arm, min(allocated_on) AS allocated_on
    FROM read_parquet('{allocations}')
    WHERE allocated_on BETWEEN {s} AND {e}
    GROUP BY user_id, trial, arm
), died AS (
    SELECT a.user_id, a.arm, bool_or(o.date BETWEEN a.allocated_on AND a.allocated_on + 364)
           AS died
    FROM a LEFT JOIN outcomes o ON o.user_id = a.user_id AND o.kind = 'death'
    GROUP BY a.user_id, a.arm
)
SELECT coalesce(sum(CASE WHEN arm = 'intervention' AND died THEN 1 ELSE 0 END), 0),
       count(*) FILTER (WHERE arm = 'intervention'),
       coalesce(sum(CASE WHEN arm = 'control' AND died THEN 1 ELSE 0 END), 0),
       count(*) FILTER (WHERE arm = 'control')
FROM died
"""

#: Person-time in the period: the union of each in-receipt user's installed windows, in days.
USER_YEARS = """
WITH w AS (
    SELECT user_id, greatest(installed_on, {s}) AS a, least(coalesce(ended_on, {e}), {e}) AS b
    FROM enrolments
    WHERE installed_on IS NOT NULL AND installed_on <= {e} AND (ended_on IS NULL OR ended_on >= {s})
), o AS (
    SELECT *, max(b) OVER (PARTITION BY user_id ORDER BY a, b
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
    FROM w
), g AS (
    SELECT *, sum(CASE WHEN before IS NULL OR a > before + 1 THEN 1 ELSE 0 END)
              OVER (PARTITION BY user_id ORDER BY a, b) AS island
    FROM o
), islands AS (
    SELECT user_id, min(a) AS a, max(b) AS b FROM g GROUP BY user_id, island
)
SELECT sum(b - a + 1), count(DISTINCT user_id) FROM islands
"""


def _figures_sql(flags_from: str, n: int) -> str:
    every = " AND ".join(f"c{i}" for i in range(n))
    parts = [f"count(*) FILTER (WHERE {every}) AS n"]
    for i in range(n):
        parts.append(
            f"count(*) FILTER (WHERE {' AND '.join(f'c{j}' for j in range(i + 1))}) AS s{i}"
        )
        others = " AND ".join(f"c{j}" for j in range(n) if j != i) or "TRUE"
        parts.append(f"count(*) FILTER (WHERE {others}) AS l{i}")
    return f"SELECT area, {', '.join(parts)} FROM {flags_from} GROUP BY ROLLUP (area)"


def run_sql(folder: Path, period_text: str) -> dict:
    import duckdb

    from threeml.records.periods import Period

    period = Period.parse(period_text)
    s, e = f"DATE '{period.start}'", f"DATE '{period.end}'"
    con = duckdb.connect()
    for table in ("users", "services", "enrolments", "contacts"):
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder / table}.parquet')"
        )
    results, times = {}, {}
    started = time.perf_counter()
    for name, selects in criteria_sql(s, e).items():
        t = time.perf_counter()
        ctes = ", ".join(f"p{i} AS ({q})" for i, q in enumerate(selects))
        joins = " ".join(f"LEFT JOIN p{i} ON p{i}.user_id = u.user_id" for i in range(len(selects)))
        flags = ", ".join(f"p{i}.user_id IS NOT NULL AS c{i}" for i in range(len(selects)))
        query = (
            f"WITH {EN}, {ctes}, f AS (SELECT u.area, {flags} FROM users u {joins}) "
            + _figures_sql("f", len(selects))
        )
        results[name] = _collect(con.execute(query).fetchall(), len(selects))
        times[name] = time.perf_counter() - t
    t = time.perf_counter()
    query = (
        f"WITH {EN}, f AS (SELECT u.area, en.installed_on BETWEEN {s} AND {e} AS c0 "
        "FROM en JOIN users u USING (user_id)) " + _figures_sql("f", 1)
    )
    results["connections"] = _collect(con.execute(query).fetchall(), 1)
    times["connections"] = time.perf_counter() - t
    t = time.perf_counter()
    metrics = {}
    days, people = con.execute(USER_YEARS.format(s=s, e=e)).fetchall()[0]
    metrics["user-years"] = {"numerator": days / 365.25, "denominator": people}
    share = results["multi-sector"]["count"], results["in-receipt"]["count"]
    metrics["multi-sector-share"] = {"numerator": share[0], "denominator": share[1]}
    for view in ("outcomes",):
        con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{folder / view}.parquet')")
    extract = con.execute(
        EXTRACT_DATE.format(allocations=folder / "allocations.parquet")
    ).fetchall()[0][0]
    people, before, after, days_after = con.execute(
        BEFORE_AFTER.format(en=EN, s=s, e=e, x=f"DATE '{extract}'")
    ).fetchall()[0]
    rate_ratio = (after / (days_after / 365.25)) / (before / (365 * people / 365.25))
    metrics["emergency-admissions-before-after"] = {
        "numerator": before + after,
        "denominator": people,
        "value": rate_ratio,
    }
    a1, n1, a0, n0 = con.execute(
        ARMS.format(allocations=folder / "allocations.parquet", s=s, e=e)
    ).fetchall()[0]
    odds = (a1 * (n0 - a0)) / ((n1 - a1) * a0) if n1 and n0 and a0 and n1 - a1 else None
    metrics["arm-comparison"] = {
        "numerator": (a1 + a0) if n1 + n0 else None,
        "denominator": n1 + n0,
        "value": odds,
    }
    times["metrics"] = time.perf_counter() - t
    return {
        "metrics": metrics,
        "results": results,
        "times": times,
        "total": time.perf_counter() - started,
        "peak_mib": peak_mib(),
    }


def _collect(rows: list[tuple], n: int) -> dict:
    out: dict = {"areas": {}}
    for row in rows:
        area, count = row[0], int(row[1] or 0)
        if area is None:
            out["count"] = count
            out["sequential"] = [int(row[2 + 2 * i] or 0) for i in range(n)]
            out["leave_one_out"] = [int(row[3 + 2 * i] or 0) - count for i in range(n)]
        elif count:
            out["areas"][area] = count
    return out


# --- threeml ----------------------------------------------------------------------------


def run_threeml(folder: Path, period_text: str, single: bool) -> dict:
    from threeml_counting import STANDARD

    from threeml.data import Dataset
    from threeml.engine.evaluate import count, count_many
    from threeml.plugins.registry import default_registry

    registry = default_registry()
    t = time.perf_counter()
    dataset = Dataset.from_folder(folder)
    load = time.perf_counter() - t
    t = time.perf_counter()
    together = count_many(STANDARD, dataset, period_text, by=("area",), registry=registry)
    catalogue = time.perf_counter() - t
    results = {
        name: {
            "count": r.count,
            "sequential": [s.remaining for s in r.attrition],
            "leave_one_out": [s.leave_one_out for s in r.attrition],
            "areas": {row.value: row.count for row in r.breakdowns["area"] if row.count},
        }
        for name, r in together.items()
    }
    from threeml.metrics.measures import evaluate_metric

    metrics, metric_times = {}, {}
    for metric in registry.metric_definitions():
        t = time.perf_counter()
        try:
            result = evaluate_metric(metric, dataset, period_text, registry, by=("area",))
            metrics[metric.name] = {
                "numerator": result.numerator,
                "denominator": result.denominator,
                "value": result.value,
            }
        except Exception as error:  # a metric this extract cannot support is reported
            metrics[metric.name] = {"error": str(error)}
        metric_times[metric.name] = time.perf_counter() - t
    times = {}
    if single:
        for definition in STANDARD:
            t = time.perf_counter()
            count(definition, dataset, period_text, by=("area",), registry=registry)
            times[definition.name] = time.perf_counter() - t
    return {
        "results": results,
        "times": times,
        "load": load,
        "total": catalogue,
        "metrics": metrics,
        "metric_times": metric_times,
        "peak_mib": peak_mib(),
    }


# --- pandas -----------------------------------------------------------------------------


def run_pandas(folder: Path, period_text: str) -> dict:
    import pandas as pd

    from threeml.records.periods import Period

    period = Period.parse(period_text)
    s, e = pd.Timestamp(period.start), pd.Timestamp(period.end)
    started = time.perf_counter()
    users = pd.read_parquet(folder / "users.parquet")
    services = pd.read_parquet(folder / "services.parquet")
    en = pd.read_parquet(folder / "enrolments.parquet").merge(
        services[["service_id", "kind", "sector"]].rename(columns={"kind": "service_kind"}),
        on="service_id",
    )
    for col in ("referred_on", "installed_on", "ended_on"):
        en[col] = pd.to_datetime(en[col])
    contacts = pd.read_parquet(folder / "contacts.parquet")
    contacts["date"] = pd.to_datetime(contacts["date"])

    def overlap(start, end):
        return en[
            en.installed_on.notna()
            & (en.installed_on <= end)
            & (en.ended_on.isna() | (en.ended_on >= start))
        ]

    cc = contacts.merge(
        en[["enrolment_id", "installed_on", "ended_on", "service_kind"]], on="enrolment_id"
    )
    cc = cc[(cc.date >= cc.installed_on) & (cc.ended_on.isna() | (cc.date <= cc.ended_on))]
    receipt = set(overlap(s, e).user_id)
    th = overlap(s, e)
    th = set(th[th.service_kind == "telehealth"].user_id)
    r = (
        cc[
            (cc.kind == "reading")
            & (cc.service_kind == "telehealth")
            & (cc.date >= s)
            & (cc.date <= e)
        ]
        .groupby("user_id")
        .size()
    )
    readers = set(r[r >= 4].index)
    ltc = set(
        users[
            users.conditions.apply(
                lambda c: any(x in ("copd", "diabetes", "heart_failure") for x in c)
            )
        ].user_id
    )
    first = en[en.installed_on.notna()].groupby("user_id").installed_on.min()
    sectors = overlap(s, e).groupby("user_id").sector.nunique()
    counts = {
        "connections": int(((en.installed_on >= s) & (en.installed_on <= e)).sum()),
        "referred": en[(en.referred_on >= s) & (en.referred_on <= e)].user_id.nunique(),
        "in-receipt": len(receipt),
        "census": overlap(e - pd.Timedelta(days=6), e).user_id.nunique(),
        "new-users": int(((first >= s) & (first <= e)).sum()),
        "telehealth": len(th),
        "active": cc[(cc.date >= e - pd.Timedelta(days=27)) & (cc.date <= e)].user_id.nunique(),
        "active-telehealth": len(th & readers),
        "ltc-telehealth": len(th & readers & ltc),
        "high-risk": len(receipt & set(users[users.risk_score >= 0.5].user_id)),
        "multi-sector": int((sectors >= 2).sum()),
    }
    return {
        "results": {k: {"count": v} for k, v in counts.items()},
        "total": time.perf_counter() - started,
        "peak_mib": peak_mib(),
    }


# --- driver -----------------------------------------------------------------------------


def child(kind: str, folder: Path, period: str, single: bool) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--out",
        str(folder),
        "--period",
        period,
    ] + (["--single"] if single else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{kind} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_extract(folder: Path, users: int, seed: int) -> float:
    marker = folder / f".synth-{users}-{seed}"
    if marker.exists():
        return 0.0
    t = time.perf_counter()
    from threeml.data.synth import synthesise

    synthesise(folder, users=users, seed=seed)
    marker.write_text("")
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--period", default=PERIOD)
    parser.add_argument("--pandas", action="store_true", help="also time pandas (small data)")
    parser.add_argument(
        "--single", action="store_true", help="also time each definition on its own through threeml"
    )
    parser.add_argument("--child", choices=["threeml", "sql", "pandas"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.out or Path(f"/tmp/threeml-bench-{args.users}")
    if args.child:
        runner = {
            "threeml": lambda: run_threeml(folder, args.period, args.single),
            "sql": lambda: run_sql(folder, args.period),
            "pandas": lambda: run_pandas(folder, args.period),
        }[args.child]
        print(json.dumps(runner(), default=str))
        return
    generated = ensure_extract(folder, args.users, args.seed)
    import pyarrow.parquet as pq

    rows = {
        t: pq.ParquetFile(folder / f"{t}.parquet").metadata.num_rows
        for t in ("users", "enrolments", "contacts")
    }
    print(
        f"extract {folder}: "
        + ", ".join(f"{k} {v:,}" for k, v in rows.items())
        + (f" (generated in {generated:.0f} s)" if generated else " (reused)")
    )
    sql = child("sql", folder, args.period, False)
    mine = child("threeml", folder, args.period, args.single)
    mismatches = [name for name in sql["results"] if sql["results"][name] != mine["results"][name]]
    for name in mismatches:
        print(f"MISMATCH {name}: sql {sql['results'][name]} threeml {mine['results'][name]}")
    print(f"\nperiod {args.period}; figures equal: {'yes' if not mismatches else 'NO'}")
    print(f"{'definition':<20}{'count':>12}{'sql s':>9}{'threeml s':>11}{'ratio':>8}")
    for name, result in sql["results"].items():
        single = mine["times"].get(name)
        ratio = f"{single / sql['times'][name]:.2f}" if single else ""
        shown = f"{single:.2f}" if single else ""
        print(f"{name:<20}{result['count']:>12,}{sql['times'][name]:>9.2f}{shown:>11}{ratio:>8}")
    print(
        f"\nsql, all eleven:                 {sql['total']:7.2f} s, peak {sql['peak_mib']:,.0f} MiB"
    )
    print(
        f"threeml, catalogue (shared):      {mine['total']:7.2f} s, ratio "
        f"{mine['total'] / sql['total']:.2f}"
    )
    print(f"threeml, load + validation:       {mine['load']:7.2f} s")
    print(f"threeml peak memory (load+eval):  {mine['peak_mib']:,.0f} MiB")
    checked = []
    for name, figures in sql.get("metrics", {}).items():
        mine_figures = mine["metrics"].get(name, {})
        same = all(
            (v is None and mine_figures.get(k) in (None, 0))
            or (
                v is not None
                and mine_figures.get(k) is not None
                and abs(mine_figures[k] - v) < 1e-6 * max(1, abs(v))
            )
            for k, v in figures.items()
        )
        checked.append(f"{name} {'equal' if same else 'DIFFERENT'}")
        if not same:
            mismatches.append(name)
            print(f"MISMATCH {name}: sql {figures} threeml {mine_figures}")
    metric_total = sum(mine["metric_times"].values())
    print(
        f"threeml, {len(mine['metrics'])} metrics one by one: {metric_total:7.2f} s "
        f"(checked against SQL: {', '.join(checked)}; "
        f"SQL for those {sql['times']['metrics']:.2f} s)"
    )
    failed = [n for n, m in mine["metrics"].items() if "error" in m]
    if failed:
        print(f"  metrics with no result on this extract: {', '.join(failed)}")
    if args.pandas:
        pandas = child("pandas", folder, args.period, False)
        agree = all(
            pandas["results"][n]["count"] == sql["results"][n]["count"] for n in sql["results"]
        )
        print(
            f"pandas, all eleven (counts only): {pandas['total']:7.2f} s, peak "
            f"{pandas['peak_mib']:,.0f} MiB, counts equal: {'yes' if agree else 'NO'}"
        )
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()

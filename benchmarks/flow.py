"""Benchmark: stock and flow over a monthly series, threeml against hand-written DuckDB SQL.

Generates (or reuses) a synthetic extract with ``threeml synth`` and times, each in its own
process so each peak memory is its own:

* ``threeml``: loading with validation, then
  :func:`threeml.engine.flow.stock_and_flow` over the months of ``--span`` by area;
* ``sql``: an analyst's hand-written DuckDB SQL for the same figures over the same Parquet
  files (gaps and islands per user, then one join against the months and a
  ``GROUP BY ROLLUP(area)``).

It checks that every cell agrees, then prints the wall times, peak memory and the ratio.

    python benchmarks/flow.py --users 1000000
    python benchmarks/flow.py --users 100000 --span 2012-04-01:2017-03-31
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from catalogue import ensure_extract, peak_mib

SPAN = "2012-04-01:2017-03-31"
REASONS = ("died", "care_home", "hospital", "moved", "declined", "abandoned", "other", "unknown")


def run_sql(folder: Path, span: str) -> dict:
    import duckdb

    start, end = span.split(":")
    rank = " ".join(f"WHEN '{r}' THEN {i}" for i, r in enumerate(REASONS[:-1]))
    ends = ", ".join(
        f"count(*) FILTER (WHERE last < e AND reason = '{r}') AS ends_{r}" for r in REASONS
    )
    query = f"""
    WITH e AS (
      SELECT user_id, enrolment_id, installed_on,
             coalesce(ended_on, DATE '9999-12-31') AS stop,
             CASE end_reason {rank} ELSE 7 END AS rank
      FROM '{folder}/enrolments.parquet' WHERE installed_on IS NOT NULL),
    m AS (
      SELECT *, max(stop) OVER (PARTITION BY user_id ORDER BY installed_on, stop DESC,
             enrolment_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev FROM e),
    n AS (
      SELECT *, sum(CASE WHEN prev IS NULL OR installed_on - 1 > prev THEN 1 ELSE 0 END)
             OVER (PARTITION BY user_id ORDER BY installed_on, stop DESC, enrolment_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ep FROM m),
    x AS (SELECT *, max(stop) OVER (PARTITION BY user_id, ep) AS ep_last FROM n),
    ep AS (
      SELECT user_id, min(installed_on) AS first, max(stop) AS last,
             min(rank) FILTER (WHERE stop = ep_last) AS rank
      FROM x GROUP BY user_id, ep),
    named AS (
      SELECT ep.user_id, first, last, u.area,
             CASE WHEN last = DATE '9999-12-31' THEN NULL
                  ELSE ['{"','".join(REASONS)}'][rank + 1] END AS reason
      FROM ep JOIN '{folder}/users.parquet' u USING (user_id)),
    months AS (
      SELECT row_number() OVER (ORDER BY s) - 1 AS i, s::DATE AS s,
             (s + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE AS e, (s - INTERVAL 1 DAY)::DATE AS b
      FROM range(DATE '{start}', DATE '{end}' + INTERVAL 1 DAY, INTERVAL 1 MONTH) t(s))
    SELECT i, area,
           count(*) FILTER (WHERE first <= b) AS opening,
           count(*) FILTER (WHERE first >= s) AS starts,
           count(*) FILTER (WHERE last >= e) AS closing,
           count(DISTINCT user_id) FILTER (WHERE first >= s) AS users_starting,
           count(DISTINCT user_id) FILTER (WHERE last < e) AS users_ending,
           {ends}
    FROM named JOIN months ON first <= e AND last >= b
    GROUP BY ROLLUP (i, area) HAVING i IS NOT NULL
    """
    t = time.perf_counter()
    rows = duckdb.sql(query).fetchall()
    took = time.perf_counter() - t
    cells = {}
    for i, area, *figures in rows:
        opening, starts, closing, starting, ending, *by_reason = figures
        cells[f"{i} {area}"] = [opening, starts, closing, starting, ending, *by_reason]
    return {"cells": cells, "time": took, "peak_mib": peak_mib()}


def run_threeml(folder: Path, span: str) -> dict:
    from threeml.data import Dataset
    from threeml.engine.flow import stock_and_flow
    from threeml.records.intervals import split

    t = time.perf_counter()
    dataset = Dataset.from_folder(folder)
    load = time.perf_counter() - t
    months = split(span, "month")
    t = time.perf_counter()
    result = stock_and_flow(dataset, months, by="area")
    took = time.perf_counter() - t
    index = {m.label: i for i, m in enumerate(months)}
    cells = {}
    for c in result.cells:
        figures = [c.opening, c.starts, c.closing, c.users_starting, c.users_ending]
        if any(figures) or c.ended:
            cells[f"{index[c.interval.label]} {c.group}"] = [
                *figures,
                *(c.ends[r] for r in REASONS),
            ]
    return {"cells": cells, "time": took, "load": load, "peak_mib": peak_mib()}


def child(kind: str, folder: Path, span: str) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--out", str(folder), "--span", span]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{kind} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--span", default=SPAN)
    parser.add_argument("--child", choices=["threeml", "sql"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.out or Path(f"/tmp/threeml-bench-{args.users}")
    if args.child:
        runner = run_threeml if args.child == "threeml" else run_sql
        print(json.dumps(runner(folder, args.span), default=str))
        return
    generated = ensure_extract(folder, args.users, args.seed)
    print(f"extract {folder}" + (f" (generated in {generated:.0f} s)" if generated else ""))
    sql = child("sql", folder, args.span)
    mine = child("threeml", folder, args.span)
    # The SQL's total row has area None; threeml's total group is None too.
    wanted = {key: value for key, value in sql["cells"].items() if any(value)}
    mismatches = sorted(set(wanted) ^ set(mine["cells"])) + [
        key for key in wanted if key in mine["cells"] and wanted[key] != mine["cells"][key]
    ]
    for key in mismatches[:10]:
        print(f"MISMATCH {key}: sql {wanted.get(key)} threeml {mine['cells'].get(key)}")
    print(f"span {args.span} by month and area; cells equal: {'yes' if not mismatches else 'NO'}")
    print(f"sql:     {sql['time']:7.2f} s, peak {sql['peak_mib']:,.0f} MiB")
    print(
        f"threeml: {mine['time']:7.2f} s (after loading {mine['load']:.1f} s), "
        f"peak {mine['peak_mib']:,.0f} MiB; ratio {mine['time'] / sql['time']:.2f}"
    )


if __name__ == "__main__":
    main()

"""Time publishing a series: the long table under the policy, its audit, and every format.

The evaluation itself (:func:`~threeml.engine.series.count_series` and
:func:`~threeml.engine.flow.stock_and_flow`, by area) is timed once for reference; what this
script is about is what comes after it: building the
:class:`~threeml.publish.series.PublishedSeries`, the disclosure audit of the whole series
(one linear programme over every interval, with the stock and flow's identities), and
writing CSV, JSON, Parquet and pandas. The synthetic extract covers the series' span (its
first enrolments two years before it, its extract date the span's last day) and is kept in
``--out`` (default ``/tmp/threeml-series-outputs-USERS-AREAS``) for the next run.

With ``--exact`` the audit is also run without witnesses (every piece of the programme
solved exactly, as before issue 15's national-size audit), and the two outcomes are checked
to be the same: the ratio of the two times is the figure to compare.

    python benchmarks/series_outputs.py --users 20000 --every month
    python benchmarks/series_outputs.py --users 300000 --areas 150 \
        --period 2012-04-01:2017-03-31 --every month
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import timedelta
from pathlib import Path

from threeml.data import Dataset
from threeml.data.synth import synthesise
from threeml.definitions.policies import DEFAULT_POLICY
from threeml.engine.flow import stock_and_flow
from threeml.engine.series import count_series
from threeml.plugins.registry import default_registry
from threeml.publish.audit import audit
from threeml.publish.audited import audit_problem, audited
from threeml.publish.formats import write
from threeml.publish.series import publish_series
from threeml.records.intervals import split
from threeml.records.periods import Period


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--areas", type=int, default=20)
    parser.add_argument("--period", default="2010-04-01:2014-03-31")
    parser.add_argument("--every", default="month")
    parser.add_argument("--out", type=Path, default=None, help="extract folder (kept)")
    parser.add_argument(
        "--parts",
        default="counts,flow,counts and flow",
        help="what to publish and audit, comma-separated: counts, flow, counts and flow",
    )
    parser.add_argument(
        "--exact", action="store_true", help="also audit without witnesses and compare"
    )
    args = parser.parse_args(argv)
    span = Period.parse(args.period)
    folder = args.out or Path(f"/tmp/threeml-series-outputs-{args.users}-{args.areas}")
    if not (folder / "users.parquet").exists():
        start = time.perf_counter()
        synthesise(
            folder,
            users=args.users,
            areas=args.areas,
            start=span.start - timedelta(days=730),
            extract_date=span.end,
        )
        print(f"synthesise into {folder}: {time.perf_counter() - start:.1f} s")
    dataset = Dataset.from_folder(folder)
    registry = default_registry()
    definitions = list(registry.counting_definitions())
    intervals = split(span, args.every)
    parts = [p.strip() for p in args.parts.split(",")]
    print(
        f"{args.users} users, {args.areas} areas, {len(definitions)} definitions, "
        f"{len(intervals)} intervals ({args.every})"
    )
    counts = flow = None
    if any("counts" in p for p in parts):
        start = time.perf_counter()
        counts = count_series(definitions, dataset, intervals, by=("area",), registry=registry)
        print(f"evaluate (count_series, by area): {time.perf_counter() - start:.1f} s")
    if any("flow" in p for p in parts):
        start = time.perf_counter()
        flow = stock_and_flow(dataset, intervals, by=("area",))
        print(f"stock and flow (engine): {time.perf_counter() - start:.1f} s")

    document = None
    for label in parts:
        kwargs = {}
        if "counts" in label:
            kwargs["counts"] = counts
        if "flow" in label:
            kwargs["flow"] = flow
        start = time.perf_counter()
        document = publish_series(intervals, DEFAULT_POLICY, **kwargs)
        built = time.perf_counter() - start
        problem = audit_problem(document)
        start = time.perf_counter()
        document = audited(document)
        took = time.perf_counter() - start
        outcome = document.audit
        print(
            f"{label}: publish {built:.2f} s, audit {took:.1f} s ({outcome.cells} cells, "
            f"{outcome.checked} checked, {len(outcome.added)} added, "
            f"withheld: {len(outcome.withheld)})"
        )
        if args.exact:
            start = time.perf_counter()
            _, exact = audit(problem, DEFAULT_POLICY, witnesses=False)
            slow = time.perf_counter() - start
            same = (exact.added, exact.withheld, exact.status) == (
                outcome.added,
                outcome.withheld,
                outcome.status,
            )
            print(
                f"{label}: exact audit (no witnesses) {slow:.1f} s, ratio {slow / took:.1f}, "
                f"same outcome: {same}"
            )
    for name in ("csv", "json", "parquet"):
        start = time.perf_counter()
        stream = io.BytesIO() if name == "parquet" else io.StringIO()
        write(document, name, stream)
        size = len(stream.getvalue())
        print(f"write {name}: {time.perf_counter() - start:.2f} s, {size / 1e6:.1f} MB")
    start = time.perf_counter()
    frame = document.to_pandas()
    print(f"to_pandas: {time.perf_counter() - start:.2f} s, {len(frame)} rows")


if __name__ == "__main__":
    sys.exit(main())

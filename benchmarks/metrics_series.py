"""Time every metric over 20 quarterly intervals: the series, one period, the naive way.

Each step runs in a fresh process on the same Parquet extract (its peak memory is the
process's own, as in ``metrics.py``), by area:

- ``one-period``: every metric over the whole span as one period (:func:`evaluate_metrics`);
- ``series``: every metric in each of the span's quarters (:func:`evaluate_metrics_series`);
- ``naive``: one :func:`evaluate_metrics` per quarter
  (:func:`evaluate_metrics_series_per_interval`).

The series' raw cells (every interval, total and areas) must equal the naive way's; the
script exits with an error listing the differences if they do not. It prints each step's
evaluation time, process time and peak memory, and the ratios series / one period (target
at most 3) and naive / series. ``--family person-time`` (or any family of ``metrics.py``)
restricts the metrics.

``--naive-intervals K`` times the naive way over K evenly spread quarters only, checks the
series equals it in those quarters, and estimates the naive way over all of them as its time
times N / K (so a national extract is feasible).

    python benchmarks/metrics_series.py --users 300000 --naive-intervals 4
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from metrics import _cells, _metric_names, arguments, child, ensure_extract, warm_imports
from metrics_sql import FAMILIES

SPAN = "2009-04-01:2014-03-31"
EVERY = "quarter"


def spread(n: int, k: int) -> list[int]:
    """``k`` interval indexes evenly spread over ``0 .. n-1`` (all of them when ``k >= n``)."""
    if k >= n:
        return list(range(n))
    return sorted({round(i * (n - 1) / max(k - 1, 1)) for i in range(k)})


def run(folder: Path, step: str, which: str, naive_intervals: int | None = None) -> dict:
    """Every metric of ``which`` (a family or ``all``) by the way ``step`` names."""
    from threeml.data import Dataset
    from threeml.metrics.evaluate import evaluate_metrics
    from threeml.metrics.series import (
        evaluate_metrics_series,
        evaluate_metrics_series_per_interval,
    )
    from threeml.plugins.registry import default_registry
    from threeml.records.intervals import split

    registry = default_registry()
    t = time.perf_counter()
    dataset = Dataset.from_folder(folder)
    load = time.perf_counter() - t
    metrics = [registry.metric(name) for name in _metric_names(which)]
    intervals = split(SPAN, EVERY)
    errors: dict[str, str] = {}
    warm_imports()
    t = time.perf_counter()
    figures: dict = {}
    if step == "one-period":
        found = evaluate_metrics(metrics, dataset, SPAN, registry, by=("area",), errors=errors)
        figures = {name: _cells(result) for name, result in found.items()}
    else:
        way = evaluate_metrics_series if step == "series" else evaluate_metrics_series_per_interval
        chosen = list(range(len(intervals)))
        if step == "naive":
            chosen = spread(len(intervals), naive_intervals or len(intervals))
        mine = [intervals[k] for k in chosen]
        series = way(metrics, dataset, mine, registry, by=("area",), errors=errors)
        for name, results in series.items():
            for interval, result in zip(mine, results, strict=True):
                if result is not None:
                    figures[f"{name} {interval.label}"] = _cells(result)
    seconds = time.perf_counter() - t
    n = len(intervals)
    done = len(chosen) if step == "naive" else n
    return {
        "figures": figures,
        "seconds": seconds,
        "estimated": seconds * n / done,
        "load": load,
        "errors": errors,
        "intervals": done,
        "labels": [intervals[k].label for k in chosen] if step == "naive" else None,
    }


def _differences(a: dict, b: dict) -> list[str]:
    wrong = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            wrong.append(f"{key}: only in {'naive' if y is None else 'series'}")
            continue
        for group in sorted(set(x) | set(y), key=str):
            u, v = x.get(group, {}), y.get(group, {})
            for cell in sorted(set(u) | set(v)):
                p, q = u.get(cell), v.get(cell)
                same = (
                    abs(p - q) <= 1e-6 * max(1.0, abs(p))
                    if isinstance(p, float) and isinstance(q, float)
                    else p == q
                )
                if not same:
                    wrong.append(f"{key} {group}.{cell}: series {p} naive {q}")
    return wrong


def _extra(step: str, args) -> list[str]:
    """The options a step's child process takes beyond the common ones."""
    if step == "naive" and args.naive_intervals:
        return ["--naive-intervals", str(args.naive_intervals)]
    return []


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--family", default="all", choices=["all", *FAMILIES])
    parser.add_argument("--no-naive", action="store_true", help="skip the naive way")
    parser.add_argument(
        "--naive-intervals",
        type=int,
        default=None,
        metavar="K",
        help="time the naive way over K evenly spread intervals only and extrapolate to all",
    )
    args = parser.parse_args()
    folder = args.out or Path(f"/tmp/threeml-bench-{args.users}")
    if args.child:
        step, which = args.child.split(":")
        print(json.dumps(run(folder, step, which, args.naive_intervals), default=str))
        return
    ensure_extract(folder, args.users, args.seed)
    print(
        f"extract {folder} ({args.users:,} users), {args.family} metrics over {SPAN} "
        f"every {EVERY}, by area"
    )
    steps = ["one-period", "series", *([] if args.no_naive else ["naive"])]
    ran = {
        step: child(f"{step}:{args.family}", folder, script=__file__, extra=_extra(step, args))
        for step in steps
    }
    print(f"{'step':<12}{'evaluate s':>11}{'process s':>11}{'peak MiB':>10}")
    for step, (result, wall, peak) in ran.items():
        print(f"{step:<12}{result['seconds']:>11.2f}{wall:>11.2f}{peak:>10,.0f}")
    one, series = ran["one-period"][0]["seconds"], ran["series"][0]["seconds"]
    print(f"series / one period: {series / one:.2f} (target at most 3)")
    errors = ran["series"][0]["errors"]
    if errors:
        print(f"{len(errors)} metric-intervals with no result (as the naive way): ")
        print("  " + "; ".join(sorted(errors)[:6]))
    if "naive" in ran:
        naive = ran["naive"][0]
        n, k = ran["series"][0]["intervals"], naive["intervals"]
        label = "" if k == n else f" (estimated from {k} of {n} intervals)"
        print(f"naive, all {n} intervals: {naive['estimated']:.2f} s{label}")
        print(f"naive / series: {naive['estimated'] / series:.2f}{label}")
        kept = set(naive["labels"] or [])
        mine = ran["series"][0]["figures"]
        if kept:
            mine = {key: v for key, v in mine.items() if key.rsplit(" ", 1)[1] in kept}
            errors = {key: v for key, v in errors.items() if key.rsplit(" ", 1)[1] in kept}
        wrong = _differences(mine, naive["figures"])
        if naive["errors"] != errors:
            wrong.append("the metric-intervals without a result differ")
        if wrong:
            print(f"\n{len(wrong)} cells differ between the series and the naive way:")
            for line in wrong[:40]:
                print("  MISMATCH", line)
            sys.exit(1)
        print(f"every cell of every metric in the {k} intervals compared equals the naive way's")


if __name__ == "__main__":
    main()

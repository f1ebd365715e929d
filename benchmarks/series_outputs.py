"""Time publishing a series: the long table under the policy, its audit, and every format.

The evaluation itself (:func:`~threeml.engine.series.count_series`, the stock and flow) is
timed once for reference; what this script is about is what comes after it: building the
:class:`~threeml.publish.series.PublishedSeries`, the disclosure audit of the whole series
(one linear programme over every interval, with the stock and flow's identities), and
writing CSV, JSON, Parquet and pandas. When the engine has no ``stock_and_flow`` yet, a
stock and flow of the same shape (every interval, every area) is made up from the extract's
area sizes so that its audit is timed all the same.

    python benchmarks/series_outputs.py --users 20000 --every month
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from pathlib import Path

from threeml.data import Dataset
from threeml.data.synth import synthesise
from threeml.definitions.policies import DEFAULT_POLICY
from threeml.engine import flow as flow_module
from threeml.engine.flow import END_REASONS, FlowCell, FlowResult
from threeml.engine.series import count_series
from threeml.plugins.registry import default_registry
from threeml.publish.audited import audited
from threeml.publish.formats import write
from threeml.publish.series import publish_series
from threeml.records.intervals import split


def _made_up_flow(intervals, areas: list[str], seed: int = 15) -> FlowResult:
    """A consistent stock and flow per area (opening + starts - ends = closing)."""
    rng = random.Random(seed)
    cells = []
    stock = {area: rng.choice([5, 40, 300, 2000]) for area in areas}
    for interval in intervals:
        total = {"opening": 0, "starts": 0, "closing": 0, "ends": dict.fromkeys(END_REASONS, 0)}
        for area in areas:
            opening = stock[area]
            starts = rng.randint(0, opening // 10 + 3)
            room, ends = opening + starts, {}
            for reason in END_REASONS[:4]:
                ends[reason] = min(rng.randint(0, max(1, opening // 40)), room)
                room -= ends[reason]
            ended = sum(ends.values())
            cells.append(FlowCell(interval, area, opening, starts, ends, room, starts, ended))
            stock[area] = room
            total["opening"] += opening
            total["starts"] += starts
            total["closing"] += room
            for reason, n in ends.items():
                total["ends"][reason] += n
        ended = sum(total["ends"].values())
        cells.append(
            FlowCell(
                interval,
                None,
                total["opening"],
                total["starts"],
                total["ends"],
                total["closing"],
                total["starts"],
                ended,
            )
        )
    return FlowResult("in-receipt", tuple(intervals), "area", tuple(cells))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--areas", type=int, default=20)
    parser.add_argument("--period", default="2010-04-01:2014-03-31")
    parser.add_argument("--every", default="month")
    parser.add_argument("--out", type=Path, default=None, help="extract folder (kept)")
    args = parser.parse_args(argv)
    folder = args.out or Path(tempfile.mkdtemp()) / "extract"
    if not (folder / "users.parquet").exists():
        synthesise(folder, users=args.users, areas=args.areas)
    dataset = Dataset.from_folder(folder)
    registry = default_registry()
    definitions = list(registry.counting_definitions())
    intervals = split(args.period, args.every)
    print(
        f"{args.users} users, {args.areas} areas, {len(definitions)} definitions, "
        f"{len(intervals)} intervals ({args.every})"
    )

    start = time.perf_counter()
    counts = count_series(definitions, dataset, intervals, by=("area",), registry=registry)
    print(f"evaluate (count_series, by area): {time.perf_counter() - start:.1f} s")
    compute = getattr(flow_module, "stock_and_flow", None)
    start = time.perf_counter()
    if compute is not None:
        flow = compute(dataset, intervals, by=("area",))
        print(f"stock and flow (engine): {time.perf_counter() - start:.1f} s")
    else:
        areas = sorted(
            {
                str(row.value)
                for r in counts[definitions[0].name]
                for row in r.breakdowns.get("area", ())
            }
        )
        flow = _made_up_flow(intervals, areas)
        print(f"stock and flow: made up for {len(areas)} areas (the engine has none yet)")

    for label, kwargs in (
        ("counts", {"counts": counts}),
        ("flow", {"flow": flow}),
        ("counts and flow", {"counts": counts, "flow": flow}),
    ):
        start = time.perf_counter()
        document = publish_series(intervals, DEFAULT_POLICY, **kwargs)
        built = time.perf_counter() - start
        start = time.perf_counter()
        document = audited(document)
        audit = time.perf_counter() - start
        outcome = document.audit
        print(
            f"{label}: publish {built:.2f} s, audit {audit:.1f} s ({outcome.cells} cells, "
            f"{outcome.checked} checked, {len(outcome.added)} added, "
            f"withheld: {len(outcome.withheld)})"
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

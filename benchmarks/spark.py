"""Standard counts, every metric, a short series and ``explain`` on DuckDB, Spark, PostgreSQL.

One synthetic extract (Parquet, written once and reused) is evaluated on each engine, each in
a fresh process:

- ``duckdb``: :meth:`Dataset.from_folder` (the embedded engine);
- ``spark``: :meth:`Dataset.from_spark` over the Parquet files, ``local[2]``,
  ``--driver-memory`` (default 2g; the JVM's heap in local mode, where the driver runs the
  tasks too) and ``--shuffle-partitions`` (default 2: one per local core; see the
  larger-engine explanation for a cluster);
- ``postgres``: the tables copied in by ``threeml load`` (timed apart) into a throwaway
  server (:func:`threeml.testing.postgres.temporary_server`), then
  :meth:`Dataset.from_connection`.

Each engine runs five steps, timed one by one (on Spark each is a job group named after the
step, ``setJobDescription``): ``load`` (open and validate), ``counts`` (the eleven standard
definitions of the counting plugin, ``threeml_counting.definitions.STANDARD``, with both
attrition forms and the area breakdown, ``count_many``), ``metrics``
(every metric by area, ``evaluate_metrics``), ``series`` (the eleven definitions over the
period's four quarters by area, ``count_series``) and ``explain`` (five definitions for three
people). Every figure (counts, people considered, metric cells and area rows, each quarter's
counts, the explanations' text) is checked equal to DuckDB's.

Peak memory: the engine process's own and, for Spark, the JVM's, each read from
``/proc/<pid>/status`` (``VmHWM``, the kernel's high-water mark of the process's resident
memory) at the end of the steps — not ``ru_maxrss``, which Linux carries over a fork and exec:
a child of a parent that has just synthesised the extract would report the parent's peak.
The JVM is the gateway process pyspark starts as a child of the Python driver. PostgreSQL's
server processes are not counted.

Each engine's result is written as a line of JSON to ``--results`` (default
``<extract>/spark-bench.jsonl``) as soon as it is done, so that a long run stopped part way
keeps what it measured; ``--table FILE`` prints the table of such a file again.

    python benchmarks/spark.py --users 50000
    python benchmarks/spark.py --users 1000000 --driver-memory 4g --out /tmp/bench-engines-1m
    python benchmarks/spark.py --users 50000 --engines spark --profile   # where Spark's time goes
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

PERIOD = "FY2013/14"
BY = ("area",)
EXPLAINED = ("in-receipt", "active-telehealth", "high-risk", "multi-sector", "connections")
STEPS = ("load", "counts", "metrics", "series", "explain")


def _metric_figures(metrics: dict) -> dict:
    return {
        name: {
            "cells": {k: v for k, v in r.cells.items() if isinstance(v, (int, float))},
            "areas": {
                str(row.group): {k: v for k, v in row.cells.items() if isinstance(v, (int, float))}
                for row in r.breakdowns.get("area", ())
            },
        }
        for name, r in metrics.items()
    }


def _standard(registry) -> list:
    """The standard counting definitions (``STANDARD``), as the registry holds them."""
    from threeml_counting.definitions import STANDARD

    return [registry.counting(d.name) for d in STANDARD]


def _dataset(engine: str, folder: Path, url: str | None, args: argparse.Namespace):
    from threeml.data import Dataset

    if engine == "duckdb":
        return Dataset.from_folder(folder, cache=False)
    if engine == "spark":
        from threeml.data.spark import local_session

        session = local_session(
            "threeml-bench", memory=args.driver_memory, shuffle_partitions=args.shuffle_partitions
        )
        tables = {p.stem: str(p) for p in folder.glob("*.parquet")}
        return Dataset.from_spark(session, tables=tables)
    import ibis

    return Dataset.from_connection(ibis.connect(f"{url}&schema=bench"), source="postgres")


def _peak_mib(pid: int | str) -> float:
    """The peak resident memory (``VmHWM``, MiB) of process ``pid`` (or ``"self"``)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def _jvm_peak_mib(dataset) -> float:
    """The Spark JVM's peak resident memory (``VmHWM``, MiB), 0 when not on Spark."""
    session = getattr(dataset.backend, "_session", None)
    if session is None:
        return 0.0
    process = getattr(session.sparkContext._gateway, "proc", None)
    if process is None:
        return float("nan")
    return _peak_mib(process.pid)


def _stop(dataset) -> None:
    session = getattr(dataset.backend, "_session", None)
    if session is not None:
        session.stop()


def run_engine(engine: str, folder: Path, url: str | None, people: list[str], args):
    """Every step on ``engine``: seconds per step, figures, and the JVM's peak memory."""
    from threeml import Period
    from threeml.engine.evaluate import count_many
    from threeml.engine.explain import explain
    from threeml.engine.series import count_series
    from threeml.metrics.evaluate import evaluate_metrics
    from threeml.plugins.registry import default_registry
    from threeml.records.intervals import split

    registry = default_registry()
    definitions = _standard(registry)
    period = Period.parse(PERIOD)
    seconds: dict[str, float] = {}
    figures: dict[str, object] = {}
    errors: dict[str, str] = {}
    dataset = None

    def step(name: str) -> None:
        session = getattr(getattr(dataset, "backend", None), "_session", None)
        if session is not None:
            session.sparkContext.setJobDescription(name)

    t = time.perf_counter()
    dataset = _dataset(engine, folder, url, args)
    seconds["load"] = time.perf_counter() - t

    step("counts")
    t = time.perf_counter()
    counts = count_many(definitions, dataset, period, by=BY, registry=registry)
    seconds["counts"] = time.perf_counter() - t
    figures["counts"] = {n: [r.count, r.considered] for n, r in counts.items()}

    step("metrics")
    t = time.perf_counter()
    metrics = list(registry.metric_definitions())
    found = evaluate_metrics(metrics, dataset, period, registry, by=BY, errors=errors)
    seconds["metrics"] = time.perf_counter() - t
    figures["metrics"] = _metric_figures(found)

    step("series")
    t = time.perf_counter()
    series = count_series(definitions, dataset, split(period, "quarter"), by=BY, registry=registry)
    seconds["series"] = time.perf_counter() - t
    figures["series"] = {n: [[r.count, r.considered] for r in rs] for n, rs in series.items()}

    step("explain")
    t = time.perf_counter()
    texts = [
        explain(registry.counting(n), p, dataset, period, resolve=registry.counting).text()
        for n in EXPLAINED
        for p in people
    ]
    seconds["explain"] = time.perf_counter() - t
    figures["explain"] = texts

    jvm = _jvm_peak_mib(dataset)
    _stop(dataset)
    return {"seconds": seconds, "errors": errors, "figures": figures, "jvm_mib": jvm}


def child(engine: str, folder: Path, url: str | None, args: argparse.Namespace) -> dict:
    """``engine`` in a fresh process: its result, wall time and own peak memory (MiB)."""
    command = [sys.executable, __file__, "--child", engine, "--out", str(folder)]
    command += ["--shuffle-partitions", str(args.shuffle_partitions), "--people", args.people]
    command += ["--driver-memory", args.driver_memory]
    if url:
        command += ["--url", url]
    if args.profile:
        command += ["--profile"]
    t = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if process.returncode != 0:
        sys.exit(f"{engine} failed:\n{process.stderr[-3000:]}")
    if args.profile:
        print(process.stderr[-6000:], file=sys.stderr)
    result = json.loads(process.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def _different(a, b, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b), key=str):
            found += _different(a.get(key), b.get(key), f"{where}.{key}")
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in _different(x, y, f"{where}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return [] if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) else [f"{where}: {a} != {b}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def _people(folder: Path) -> list[str]:
    """Three people spread over the extract (first, middle, last by id)."""
    import pyarrow.parquet as pq

    ids = sorted(pq.read_table(folder / "users.parquet", columns=["user_id"])[0].to_pylist())
    return [ids[0], ids[len(ids) // 2], ids[-1]]


def _in_child(args: argparse.Namespace, folder: Path) -> None:
    people = args.people.split(",")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(run_engine, args.child, folder, args.url, people, args)
        stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
        stats.print_stats(r"threeml/(engine|metrics|data)", 40)
    else:
        result = run_engine(args.child, folder, args.url, people, args)
    result["peak_mib"] = _peak_mib("self")
    print(json.dumps(result, default=str))


def _table(users: int, results: dict[str, dict]) -> None:
    base = results.get("duckdb")
    print(f"{users:,} users, period {PERIOD}, by area: seconds per step (ratio to DuckDB)")
    print(f"{'engine':<10}" + "".join(f"{s:>16}" for s in STEPS)
          + f"{'wall':>8}{'py MiB':>8}{'JVM MiB':>9}")  # fmt: skip
    for engine, r in results.items():
        cells = []
        for s in STEPS:
            ratio = r["seconds"][s] / base["seconds"][s] if base else float("nan")
            cells.append(f"{r['seconds'][s]:>8.1f} ({ratio:>4.1f}×)")
        print(f"{engine:<10}" + "".join(f"{c:>16}" for c in cells)
              + f"{r['wall']:>8.1f}{r['peak_mib']:>8.0f}{r['jvm_mib']:>9.0f}")  # fmt: skip
        if r["errors"]:
            print(f"  metrics not evaluated: {sorted(r['errors'])}")
        if base and engine != "duckdb":
            wrong = _different(base["figures"], r["figures"])
            print(f"  figures equal to DuckDB's: {'yes' if not wrong else wrong[:5]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--engines", default="duckdb,spark,postgres")
    parser.add_argument("--shuffle-partitions", type=int, default=2)
    parser.add_argument("--driver-memory", default="2g", help="Spark's driver memory (2g)")
    parser.add_argument("--results", type=Path, default=None, help="JSON lines, one per engine")
    parser.add_argument("--table", type=Path, default=None, help="print a results file's table")
    parser.add_argument("--profile", action="store_true", help="cProfile each engine's steps")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--people", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Stopped from outside (``timeout``): end as an exception, so the server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("benchmarks/spark.py: terminated"))
    folder = args.out or Path(f"/tmp/bench-engines-{args.users}")
    if args.table:
        saved = [json.loads(line) for line in args.table.read_text().splitlines() if line]
        _table(saved[-1]["users"], {r["engine"]: r for r in saved})
        return
    if args.child:
        _in_child(args, folder)
        return
    if not (folder / "users.parquet").exists():
        from threeml.data.synth import synthesise

        t = time.perf_counter()
        synthesise(folder, users=args.users, seed=args.seed)
        print(f"synthesised {folder}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    args.people = ",".join(_people(folder))
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    results: dict[str, dict] = {}
    url = None
    server = None
    if "postgres" in engines:
        from threeml.cli import main as threeml
        from threeml.testing.postgres import temporary_server

        server = temporary_server()
        url = server.__enter__()
        t = time.perf_counter()
        assert threeml(["load", str(folder), url, "--schema", "bench"]) == 0
        print(f"threeml load into PostgreSQL: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    saved = args.results or folder / "spark-bench.jsonl"
    try:
        for engine in engines:
            results[engine] = child(engine, folder, url, args)
            line = {"engine": engine, "users": args.users, **results[engine]}
            with saved.open("a") as out:
                out.write(json.dumps(line, default=str) + "\n")
            print(f"{engine} done: {results[engine]['seconds']}", file=sys.stderr)
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    _table(args.users, results)


if __name__ == "__main__":
    main()

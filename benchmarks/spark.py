"""The eleven standard counts and every metric on DuckDB, Spark local[2] and PostgreSQL.

One synthetic extract (Parquet, written once and reused) is evaluated on each engine, each in
a fresh process whose own peak memory is recorded (the child's ``getrusage``; for Spark that is the
Python driver, the JVM's resident memory is sampled separately from ``/proc`` while it runs):

- ``duckdb``: :meth:`Dataset.from_folder` (the embedded engine);
- ``spark``: :meth:`Dataset.from_spark` over the Parquet files, ``local[2]``, two shuffle
  partitions, driver memory 2 GB;
- ``postgres``: the tables copied in by ``threeml load`` (timed apart) into a throwaway
  server (:func:`threeml.testing.postgres.temporary_server`), then
  :meth:`Dataset.from_connection`.

For each: the load-and-validate time, the eleven counts together (``count_many`` with the
area breakdown), every metric together (``evaluate_metrics`` by area), and the ratio to
DuckDB's time. The counts and every metric cell are checked equal to DuckDB's.

    python benchmarks/spark.py --users 100000
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

PERIOD = "FY2013/14"
BY = ("area",)


def _figures(counts: dict, metrics: dict) -> dict:
    return {
        "counts": {name: [r.count, r.considered] for name, r in counts.items()},
        "metrics": {
            name: {
                "cells": {k: v for k, v in r.cells.items() if isinstance(v, (int, float))},
                "areas": {
                    str(row.group): {
                        k: v for k, v in row.cells.items() if isinstance(v, (int, float))
                    }
                    for row in r.breakdowns.get("area", ())
                },
            }
            for name, r in metrics.items()
        },
    }


def _dataset(engine: str, folder: Path, url: str | None):
    from threeml.data import Dataset

    if engine == "duckdb":
        return Dataset.from_folder(folder, cache=False)
    if engine == "spark":
        from threeml.data.spark import local_session

        session = local_session("threeml-bench", memory="2g")
        tables = {p.stem: str(p) for p in folder.glob("*.parquet")}
        return Dataset.from_spark(session, tables=tables)
    import ibis

    return Dataset.from_connection(ibis.connect(f"{url}&schema=bench"), source="postgres")


def run_engine(engine: str, folder: Path, url: str | None) -> dict:
    from threeml.engine.evaluate import count_many
    from threeml.metrics.evaluate import evaluate_metrics
    from threeml.plugins.registry import default_registry

    registry = default_registry()
    t = time.perf_counter()
    dataset = _dataset(engine, folder, url)
    load = time.perf_counter() - t
    definitions = list(registry.counting_definitions())[:11]
    t = time.perf_counter()
    counts = count_many(definitions, dataset, PERIOD, by=BY, registry=registry)
    counting = time.perf_counter() - t
    errors: dict[str, str] = {}
    t = time.perf_counter()
    metrics = evaluate_metrics(
        list(registry.metric_definitions()), dataset, PERIOD, registry, by=BY, errors=errors
    )
    metric_seconds = time.perf_counter() - t
    return {
        "load": load,
        "counts": counting,
        "metrics": metric_seconds,
        "errors": errors,
        "figures": _figures(counts, metrics),
    }


def _jvm_peak(pid: int, stop: threading.Event, peak: list[float]) -> None:
    """The largest RSS (MiB) of ``pid``'s java children, sampled twice a second."""
    while not stop.is_set():
        total = 0.0
        for child in Path("/proc").iterdir():
            if not child.name.isdigit():
                continue
            try:
                status = (child / "status").read_text()
                parent = int(status.split("PPid:")[1].split()[0])
                if parent == pid and "java" in (child / "comm").read_text():
                    total += int(status.split("VmRSS:")[1].split()[0]) / 1024
            except (OSError, IndexError, ValueError):
                continue
        peak[0] = max(peak[0], total)
        stop.wait(0.5)


def child(engine: str, folder: Path, url: str | None) -> tuple[dict, float, float, float]:
    """``engine`` in a fresh process: its result, wall time, own peak RSS and the JVM's (MiB)."""
    command = [sys.executable, __file__, "--child", engine, "--out", str(folder)]
    if url:
        command += ["--url", url]
    t = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stop, peak = threading.Event(), [0.0]
    watcher = threading.Thread(target=_jvm_peak, args=(process.pid, stop, peak), daemon=True)
    watcher.start()
    out, err = process.communicate()
    stop.set()
    wall = time.perf_counter() - t
    if process.returncode != 0:
        sys.exit(f"{engine} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    return result, wall, result.pop("peak_mib", 0.0), peak[0]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--engines", default="duckdb,spark,postgres")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.out or Path(f"/tmp/threeml-bench-spark-{args.users}")
    if args.child:
        import resource

        result = run_engine(args.child, folder, args.url)
        result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result, default=str))
        return
    if not (folder / "users.parquet").exists():
        from threeml.data.synth import synthesise

        synthesise(folder, users=args.users, seed=args.seed)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    results: dict[str, tuple] = {}
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
    try:
        for engine in engines:
            results[engine] = child(engine, folder, url)
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    base = results.get("duckdb")
    print(f"{args.users:,} users, period {PERIOD}, by area (seconds; ratio to DuckDB)")
    print(f"{'engine':<10}{'load':>8}{'counts':>9}{'ratio':>7}{'metrics':>9}{'ratio':>7}"
          f"{'wall':>8}{'py MiB':>8}{'JVM MiB':>9}")  # fmt: skip
    for engine, (r, wall, peak, jvm) in results.items():
        rc = r["counts"] / base[0]["counts"] if base else float("nan")
        rm = r["metrics"] / base[0]["metrics"] if base else float("nan")
        print(f"{engine:<10}{r['load']:>8.1f}{r['counts']:>9.1f}{rc:>7.1f}{r['metrics']:>9.1f}"
              f"{rm:>7.1f}{wall:>8.1f}{peak:>8.0f}{jvm:>9.0f}")  # fmt: skip
        if r["errors"]:
            print(f"  metrics not evaluated: {sorted(r['errors'])}")
        if base and engine != "duckdb":
            wrong = _different(base[0]["figures"], r["figures"])
            print(f"  figures equal to DuckDB's: {'yes' if not wrong else wrong[:5]}")


if __name__ == "__main__":
    main()

"""The threeml report on Spark: for ``spark-submit`` on a cluster (or ``python`` locally).

Reads the extract's tables from the session's catalog (``database.table`` names) or from
Parquet paths, validates them on Spark, evaluates every counting definition and metric (or
those named) on Spark, and writes the published report (results.csv, results.json,
report.html, measurereport.json) under the disclosure policy into ``--out`` on the driver.
Only aggregates come back to the driver: counts, attrition and breakdown cells per group,
metric cells, and the problem rows validation found (at most a few per kind); no per-person
row does (``--membership`` is not offered here).

    spark-submit scripts/spark_report.py \\
        --table users=health.tec_users --table services=health.tec_services \\
        --table enrolments=health.tec_enrolments --table contacts=health.tec_contacts \\
        --table outcomes=health.tec_outcomes --period FY2013/14 --out /dbfs/reports/fy13

    python scripts/spark_report.py --parquet extract/ --master 'local[2]' --period 2013 --out r/

Exit status: 0 written, 1 rows set aside in lenient mode, 2 a user error (named on stderr).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from threeml.errors import ThreemlError
from threeml.records.intervals import Every
from threeml.records.schema import TABLES


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="spark_report.py", description=__doc__.split("\n\n")[0].strip()
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--table",
        action="append",
        metavar="NAME=SOURCE",
        help="A threeml table and where it is: a catalog table (database.table) or a Parquet "
        "path (repeatable: users, services, enrolments, contacts, and optional tables).",
    )
    where.add_argument(
        "--parquet",
        metavar="FOLDER",
        help="A folder (local, hdfs://, s3a://, dbfs:/ …) holding users.parquet, "
        "services.parquet … (each may be a Parquet directory).",
    )
    parser.add_argument("--period", required=True, help="2013, 2013-Q2, FY2013/14 or START:END.")
    parser.add_argument("--out", required=True, type=Path, help="The report's folder.")
    parser.add_argument("--by", action="append", help="Breakdown (repeatable; default area).")
    parser.add_argument("--disclosure", default="default", help="Disclosure policy name.")
    parser.add_argument("--definitions", help="Counting definitions, comma-separated.")
    parser.add_argument("--metrics", help="Metrics, comma-separated ('none' for none).")
    parser.add_argument("--extract-date", help="The last day the extract covers.")
    parser.add_argument("--title", default="threeml report")
    parser.add_argument("--lenient", action="store_true", help="Set bad rows aside.")
    parser.add_argument(
        "--every",
        choices=[e.value for e in Every],
        help="Intervals of the section over time (default: quarters, months when the "
        "period is shorter than half a year).",
    )
    parser.add_argument(
        "--no-over-time",
        dest="over_time",
        action="store_false",
        help="Leave out the section over time (the counts in each interval, stock and flow).",
    )
    parser.add_argument(
        "--master", help="Spark master when not run by spark-submit (such as local[2])."
    )
    parser.add_argument(
        "--shuffle-partitions",
        type=int,
        help="spark.sql.shuffle.partitions (default: the session's own; with a local[N] "
        "master, N).",
    )
    return parser.parse_args(argv)


def _tables(args: argparse.Namespace) -> dict[str, str]:
    if args.parquet:
        base = args.parquet.rstrip("/")
        required = [name for name, spec in TABLES.items() if spec.required]
        found = {name: f"{base}/{name}.parquet" for name in TABLES}
        if "://" in base or ":" in base.split("/")[0]:
            return found  # a cluster's file system: Spark says what is missing
        missing = [n for n in required if not Path(found[n]).exists()]
        if missing:
            raise ThreemlError(
                f"--parquet {args.parquet}: no {', '.join(f'{n}.parquet' for n in missing)} "
                "there; the required tables are " + ", ".join(required)
            )
        return {n: p for n, p in found.items() if Path(p).exists()}
    tables: dict[str, str] = {}
    for given in args.table:
        name, _, source = given.partition("=")
        if not source:
            raise ThreemlError(f"--table {given!r}: give NAME=SOURCE, such as users=health.users")
        tables[name.strip()] = source.strip()
    return tables


def _local_cores(master: str | None) -> int | None:
    """The cores of a ``local[N]`` or ``local[*]`` master; ``None`` for any other."""
    found = re.fullmatch(r"local\[(\d+|\*)\]", master or "")
    if not found:
        return None
    return (os.cpu_count() or 1) if found.group(1) == "*" else int(found.group(1))


def _session(master: str | None, partitions: int | None) -> Any:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("threeml-report")
    if master:
        builder = builder.master(master)
    # Spark's default of 200 shuffle partitions makes every group-by hundreds of near-empty
    # tasks on one machine: a local master gets one per core unless told otherwise.
    partitions = partitions or _local_cores(master)
    if partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    return builder.getOrCreate()


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def run(argv: list[str] | None = None) -> int:
    """Run the report on Spark; the exit status."""
    from threeml.data import Dataset
    from threeml.plugins.registry import default_registry
    from threeml.publish.audited import audited
    from threeml.publish.disclosure import policy_named
    from threeml.report import build_report, publish_report
    from threeml.report.files import write_files

    args = _arguments(argv)
    session = _session(args.master, args.shuffle_partitions)
    registry = default_registry()
    policy = policy_named(args.disclosure, registry)
    names, metric_names = _names(args.definitions), _names(args.metrics)
    definitions = (
        [registry.counting(n) for n in names] if names else list(registry.counting_definitions())
    )
    if metric_names == ["none"]:
        metrics = []
    elif metric_names:
        metrics = [registry.metric(n) for n in metric_names]
    else:
        metrics = list(registry.metric_definitions())
    dataset = Dataset.from_spark(
        session,
        tables=_tables(args),
        extract_date=args.extract_date,
        mode="lenient" if args.lenient else "strict",
        source="spark",
    )
    result = build_report(
        dataset,
        args.period,
        registry=registry,
        definitions=definitions,
        metrics=metrics,
        by=tuple(args.by or ("area",)),
        cell_keys=policy.cell_key,
        every=args.every,
        over_time=args.over_time,
    )
    document = audited(publish_report(result, policy, title=args.title))
    written = write_files(document, args.out)
    print("wrote " + ", ".join(str(path) for path in written.values()))
    aside = sum(dataset.report.set_aside.values())
    if aside:
        print(f"note: lenient mode set {aside:,} rows aside", file=sys.stderr)
    return 1 if aside else 0


def main(argv: list[str] | None = None) -> int:
    """:func:`run`, with a threeml error printed as one line and exit status 2."""
    try:
        return run(argv)
    except ThreemlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

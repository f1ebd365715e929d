"""Command benchmark: whole ``threeml`` commands on a Parquet extract, each in a fresh process.

Generates (once, in a process of its own: ``threeml synth``) a Parquet extract and adds one
heavy person with about two million contacts, then times, each in a fresh subprocess:

- DuckDB reading every column of every table once (the yardstick for first validation);
- DuckDB running the checks of a first validation by hand, as counts (the least the checks
  cost on this engine: they include joins, which the read does not);
- ``threeml validate`` on a fresh cache (first validation), and again (kept result);
- the validation step alone on the kept result, timed inside a process that has already
  imported threeml (what a command spends on validation beyond starting Python);
- ``threeml count active`` on the validated extract, twice (the extract's fingerprint in its
  provenance is the files' stamps, taken at loading: the first output costs what the second
  does);
- ``threeml explain`` for an ordinary person and for the heavy one, as whole processes and
  as the explanation's own work after the imports;
- ``threeml report`` (every definition and metric, by area, with the counts over time and
  the stock and flow, as the command does by default) on the validated extract, as a whole
  process (against the targets at 3 million users: at most 30 s, under 2 GiB), and its own
  work again timed section by section (loading, counting, metrics, over time, publishing,
  the audit, each file written).

Each figure is the subprocess's wall time and its own peak resident memory, read by
``/usr/bin/time`` (GNU time) around that one process; this script's own memory takes no part.
Several sizes may be given; each gets its own extract, in ``--out`` suffixed with the size:

    python benchmarks/commands.py --users 300000 1000000 --out /tmp/threeml-commands
    python benchmarks/commands.py --users 3000000 --out /tmp/threeml-commands
    python benchmarks/commands.py --users 1000000 --steps validat   # the validation steps only

An extract already there with the same size is reused (``bench-commands.json``). An extract
made elsewhere is timed as it is, only read, with ``--extract`` (no heavy person is added):

    python benchmarks/commands.py --extract /tmp/bench-3m --steps validat
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MANIFEST = "bench-commands.json"  # not a table name, so loading ignores it
HEAVY_USER = "P0500000H"  # sorts among the ordinary ids: no row group is skipped by its id
HEAVY_ENROLMENT = "EHEAVY0001"
PERIOD = "2013"

_RAW_READ = r"""
import sys, duckdb
from pathlib import Path
con = duckdb.connect()
for path in sorted(Path(sys.argv[1]).glob("*.parquet")):
    source = f"read_parquet('{path}')"
    columns = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    parts = []
    for name, kind, *_ in columns:
        column = f'"{name}"'
        if kind.endswith("[]"):
            parts.append(f"max(len({column}))")
        else:
            parts.append(f"min({column})")
            parts.append(f"max({column})")
    con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchall()
"""

# The work of a step after the imports, timed inside the process (printed as "work <s>").
_KEPT_VALIDATION = r"""
import sys, time
from threeml.data import Dataset
started = time.perf_counter()
Dataset.from_folder(sys.argv[1])
print(f"work {time.perf_counter() - started:.3f}")
"""

_EXPLAIN_WORK = r"""
import sys, time
import threeml.cli.count  # the command's own modules, imported lazily by the command line
import ibis.backends.duckdb.converter  # ibis's result conversion (imports pandas) on first use
from threeml.cli import main
started = time.perf_counter()
main(["explain", sys.argv[2], sys.argv[3], "--data", sys.argv[1], "--period", sys.argv[4]])
print(f"work {time.perf_counter() - started:.3f}")
"""

# The report's own work by section, after the imports: each section of ``threeml report``
# timed by wrapping the function that does it (printed as "section <name> <s>").
_REPORT_SECTIONS = r"""
import sys, time
import ibis.backends.duckdb.converter  # ibis's result conversion (imports pandas) on first use
import threeml.cli.report as command
import threeml.report.files as files
import threeml.report.model as model
from threeml.cli import main

times = {}

def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            times[name] = times.get(name, 0.0) + time.perf_counter() - started
    return wrapper

command.load_dataset = timed("loading the validated extract", command.load_dataset)
model.count_many = timed("counting definitions (by area)", model.count_many)
model.evaluate_metrics = timed("metrics (by area)", model.evaluate_metrics)
model.count_series = timed("over time: counts per interval", model.count_series)
model.stock_and_flow_of = timed("over time: stock and flow", model.stock_and_flow_of)
model.fingerprint = timed("fingerprint (provenance)", model.fingerprint)
command.publish_report = timed("publishing under the policy", command.publish_report)
command.audited = timed("disclosure audit", command.audited)
for name in ("to_csv", "to_json", "to_html", "to_measure_report_json"):
    setattr(files, name, timed(f"writing {name[3:]}", getattr(files, name)))
command.write = timed("terminal summary", command.write)
started = time.perf_counter()
main(["report", "--data", sys.argv[1], "--period", sys.argv[2], "--out", sys.argv[3]])
work = time.perf_counter() - started
for name, seconds in times.items():
    print(f"section {name}: {seconds:.2f}")
print(f"section other: {work - sum(times.values()):.2f}")
print(f"work {work:.3f}")
"""

_ADD_HEAVY = r"""
import sys
from datetime import date, timedelta
from pathlib import Path
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

folder, contacts = Path(sys.argv[1]), int(sys.argv[2])
user, enrolment = sys.argv[3], sys.argv[4]
services = pq.read_table(folder / "services.parquet")
telehealth = pc.filter(services, pc.equal(services["kind"], "telehealth"))["service_id"][0].as_py()

def append(name, rows):
    table = pq.read_table(folder / f"{name}.parquet")
    types = {c: table.schema.field(c).type for c in table.column_names}
    extra = pa.table({c: pa.array([rows.get(c)], kind) for c, kind in types.items()})
    pq.write_table(pa.concat_tables([table, extra]), folder / f"{name}.parquet")

append("users", {"user_id": user, "area": "Heavy", "birth_year": 1940, "conditions": ["copd"],
                 "risk_score": 0.9})
append("enrolments", {"enrolment_id": enrolment, "user_id": user, "service_id": telehealth,
                      "referred_on": date(2010, 1, 1), "installed_on": date(2010, 1, 5)})
path = folder / "contacts.parquet"
old = pq.ParquetFile(path)
schema = old.schema_arrow
rng = np.random.default_rng(7)
first = (date(2010, 1, 5) - date(1970, 1, 1)).days
last = (date(2013, 12, 31) - date(1970, 1, 1)).days
days = np.sort(rng.integers(first, last + 1, size=contacts)).astype("int32")
kinds = np.where(rng.random(contacts) < 0.6, "reading", "heartbeat")
heavy = pa.table({
    "user_id": pa.array(np.full(contacts, user), pa.string()),
    "enrolment_id": pa.array(np.full(contacts, enrolment), pa.string()),
    "date": pa.array(days, pa.int32()).cast(pa.date32()),
    "kind": pa.array(kinds, pa.string()),
}).cast(schema)
temporary = path.with_suffix(".tmp")
with pq.ParquetWriter(temporary, schema) as writer:
    for group in range(old.num_row_groups):
        writer.write_table(old.read_row_group(group))
    writer.write_table(heavy, row_group_size=1_000_000)
temporary.replace(path)
"""


def _time_tool() -> str:
    found = shutil.which("time") or "/usr/bin/time"
    if not Path(found).exists():
        sys.exit("needs GNU time (/usr/bin/time) to read each subprocess's own peak memory")
    return found


def run(label: str, argv: list[str], env: dict[str, str]) -> dict[str, float | str]:
    """Run ``argv`` in a fresh process; its wall time, its CPU time (user and system, every
    thread: on a shared machine it moves less with the load than the wall time does) and
    its own peak resident memory."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        started = time.perf_counter()
        done = subprocess.run(
            [_time_tool(), "-f", "%e %U %S %M", "-o", out.name, *argv],
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        figures = out.read().split()
    if done.returncode != 0:
        sys.exit(f"{label} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    peak_mib = int(figures[-1]) / 1024 if figures else float("nan")
    cpu = float(figures[-3]) + float(figures[-2]) if len(figures) >= 3 else float("nan")
    return {
        "step": label,
        "seconds": wall,
        "cpu_seconds": cpu,
        "peak_mib": peak_mib,
        "stdout": done.stdout,
    }


def ensure_extract(out: Path, users: int, heavy: int, env: dict[str, str]) -> None:
    """Generate the extract and its heavy person once, each in a process of its own."""
    manifest = out / MANIFEST
    wanted = {"users": users, "heavy_contacts": heavy, "seed": 2012}
    if manifest.exists() and json.loads(manifest.read_text()) == wanted:
        print(f"reusing the extract in {out}")
        return
    started = time.perf_counter()
    threeml = [sys.executable, "-c", "from threeml.cli import run; run()"]
    subprocess.run(
        [*threeml, "synth", "--users", str(users), "--out", str(out)], env=env, check=True
    )
    subprocess.run(
        [sys.executable, "-c", _ADD_HEAVY, str(out), str(heavy), HEAVY_USER, HEAVY_ENROLMENT],
        env=env,
        check=True,
    )
    manifest.write_text(json.dumps(wanted))
    print(f"generated {out} in {time.perf_counter() - started:.1f} s")


def _work(result: dict[str, float | str]) -> float:
    """The "work <s>" a step printed (its time after the imports), else NaN."""
    for line in reversed(str(result["stdout"]).splitlines()):
        if line.startswith("work "):
            return float(line.split()[1])
    return float("nan")


def _user_rows(out: Path) -> int:
    """The number of users in the extract, from its Parquet footer."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(out / "users.parquet").metadata.num_rows)


def _first_user(out: Path) -> str:
    """The first user_id of the extract (an ordinary person: the heavy one sorts later)."""
    import duckdb

    path = str(out / "users.parquet").replace("'", "''")
    return str(duckdb.sql(f"SELECT min(user_id) FROM read_parquet('{path}')").fetchone()[0])


def bench(
    users: int,
    heavy: int,
    out: Path,
    ordinary: str,
    env: dict[str, str],
    only: tuple[str, ...] = (),
) -> None:
    """Every step on one (generated) extract, printed as a table with the ratios and targets.

    ``only`` keeps the steps whose label holds one of its words (DuckDB's read, the yardstick,
    is always run)."""
    cache = Path(tempfile.mkdtemp(prefix="threeml-bench-cache-"))
    env = {**env, "THREEML_CACHE_DIR": str(cache)}
    env.pop("THREEML_NO_CACHE", None)
    threeml = [sys.executable, "-c", "from threeml.cli import run; run()"]
    data = str(out)
    count = [*threeml, "count", "active", "--data", data, "--period", PERIOD]
    steps = [
        ("DuckDB reads every column once", [sys.executable, "-c", _RAW_READ, data]),
        (
            "DuckDB runs every check by hand (validation's yardstick)",
            [sys.executable, str(Path(__file__).with_name("validation_by_hand.py")), data],
        ),
        ("validate, first run", [*threeml, "validate", data]),
        ("validate, kept result", [*threeml, "validate", data]),
        ("validation step alone, kept result", [sys.executable, "-c", _KEPT_VALIDATION, data]),
        ("count active, first output", count),
        ("count active, again", count),
    ]
    people = [(f"ordinary person ({ordinary})", ordinary)]
    if heavy:  # an extract used as it is (--extract) has no heavy person
        people.append((f"heavy person ({heavy:,} contacts)", HEAVY_USER))
    for label, person in people:
        steps.append(
            (
                f"explain, {label}",
                [
                    *threeml,
                    "explain",
                    "active-telehealth",
                    person,
                    "--data",
                    data,
                    "--period",
                    PERIOD,
                ],
            )
        )
        steps.append(
            (
                f"explain's own work, {label}",
                [sys.executable, "-c", _EXPLAIN_WORK, data, "active-telehealth", person, PERIOD],
            )
        )
    reports = Path(tempfile.mkdtemp(prefix="bench-commands-report-"))
    report = [*threeml, "report", "--data", data, "--period", PERIOD]
    steps.append(("report, whole command", [*report, "--out", str(reports / "whole")]))
    steps.append(
        (
            "report's own work by section",
            [sys.executable, "-c", _REPORT_SECTIONS, data, PERIOD, str(reports / "sections")],
        )
    )
    if only:
        steps = [steps[0], *(s for s in steps[1:] if any(word in s[0] for word in only))]
    try:
        results = [run(label, argv, env) for label, argv in steps]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(reports, ignore_errors=True)
    extra = f" (+1 with {heavy:,} contacts)" if heavy else ""
    print(f"\n{users:,} users{extra}, Parquet, {data}")
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with contextlib.suppress(OSError):  # not on every system
        print(f"load average {os.getloadavg()[0]:.1f}")
    width = max(len(str(r["step"])) for r in results)
    print(f"{'step':<{width}}  {'wall s':>7}  {'cpu s':>7}  {'work s':>7}  {'peak MiB':>8}")
    for r in results:
        work = _work(r)
        shown = f"{work:>7.2f}" if work == work else f"{'':>7}"
        print(
            f"{r['step']:<{width}}  {r['seconds']:>7.2f}  {r['cpu_seconds']:>7.2f}  {shown}  "
            f"{r['peak_mib']:>8.0f}"
        )
    by = {str(r["step"]): r for r in results}
    raw = results[0]["seconds"]
    if "validate, first run" in by:
        first = by["validate, first run"]["seconds"]
        print(f"first validation / DuckDB read: {first / raw:.2f}x (target at most 2x)")
        cpu = by["validate, first run"]["cpu_seconds"] / results[0]["cpu_seconds"]
        print(f"the same in CPU time: {cpu:.2f}x")
        hand = by.get("DuckDB runs every check by hand (validation's yardstick)")
        if hand is not None:
            print(
                f"checks by hand / DuckDB read: {hand['seconds'] / raw:.2f}x; "
                f"first validation / checks by hand: {first / hand['seconds']:.2f}x"
            )
    if "validation step alone, kept result" in by:
        kept = _work(by["validation step alone, kept result"])
        print(f"validation step, kept result: {kept:.2f} s (target under 1 s)")
    for r in results:
        if str(r["step"]).startswith("explain's own work"):
            print(
                f"{r['step']}: {_work(r):.2f} s, {r['peak_mib']:.0f} MiB "
                "(target about 1 s, under 500 MB)"
            )
    heavy_run = by.get(f"explain, heavy person ({heavy:,} contacts)")
    if heavy_run is not None:
        heavy_text = [line for line in str(heavy_run["stdout"]).splitlines() if line.strip()]
        print("heavy person:", heavy_text[-1].strip() if heavy_text else "(no output)")
    whole = by.get("report, whole command")
    if whole is not None:
        print(
            f"report, whole command: {whole['seconds']:.1f} s, {whole['peak_mib']:.0f} MiB "
            "(target at most 30 s, under 2 GiB at 3 million users)"
        )
    sections = by.get("report's own work by section")
    if sections is not None:
        print(f"report's own work: {_work(sections):.1f} s, by section:")
        for line in str(sections["stdout"]).splitlines():
            if line.startswith("section "):
                print("  " + line[len("section ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--heavy-contacts", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/threeml-commands"))
    parser.add_argument(
        "--extract",
        type=Path,
        default=None,
        help="time an existing Parquet extract folder as it is, read only (no heavy person "
        "is added, so explain runs for an ordinary person alone); --users and --out are "
        "then not used",
    )
    parser.add_argument(
        "--ordinary", default=None, help="an ordinary person's user_id (default: the first)"
    )
    parser.add_argument(
        "--steps",
        nargs="+",
        default=[],
        metavar="WORD",
        help="run only the steps whose name holds one of these words (e.g. validat), "
        "besides DuckDB's read",
    )
    args = parser.parse_args()
    env = dict(os.environ)
    if args.extract is not None:
        # An extract made elsewhere (e.g. by benchmarks/catalogue.py), only read: nothing is
        # written into it (the validation cache lives in a temporary folder of its own).
        users = _user_rows(args.extract)
        ordinary = args.ordinary or _first_user(args.extract)
        bench(users, 0, args.extract, ordinary, env, tuple(args.steps))
        return
    for users in args.users:
        out = args.out if len(args.users) == 1 else Path(f"{args.out}-{users}")
        ensure_extract(out, users, args.heavy_contacts, env)
        ordinary = args.ordinary or _first_user(out)
        bench(users, args.heavy_contacts, out, ordinary, env, tuple(args.steps))


if __name__ == "__main__":
    main()

"""Load benchmark: validate and load a national-scale Parquet extract.

Generates (once, vectorised with numpy and pyarrow) an extract of the size of the
3millionlives programme — by default 3,000,000 users, about 5,000,000 enrolments and
50,000,000 contacts — then times ``Dataset.from_folder`` on it, validation included,
and prints the wall time and the peak resident memory of the loading process.

    python benchmarks/load.py                      # full scale, into /tmp/threeml-bench
    python benchmarks/load.py --users 30000 --contacts 500000 --out /tmp/threeml-small

The extract is generated in a child process so that the memory it takes does not count
towards the peak reported for loading. An existing extract of the same size is reused.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DEFAULT_OUT = Path("/tmp/threeml-bench")
MANIFEST = "bench.json"  # not a table name, so loading ignores it
ENROLMENTS_PER_USER = 5 / 3
EPOCH = date(1970, 1, 1)
FIRST_DAY = (date(2010, 1, 1) - EPOCH).days
LAST_DAY = (date(2014, 3, 31) - EPOCH).days
AREAS = 152  # English local authorities with social services responsibilities
CHUNK = 5_000_000

SERVICE_KINDS = ["telehealth", "telecare", "telecoaching", "telemedicine", "self_care_app"]
SECTORS = ["health", "social_care", "housing", "third_sector"]
CONDITIONS = ["copd", "diabetes", "heart_failure", "dementia", "falls", "stroke"]
END_REASONS = ["died", "care_home", "hospital", "declined", "abandoned", "moved", "other"]
CONTACT_KINDS = ["reading", "alert", "alarm_call", "test_call", "heartbeat", "coaching_session"]
CONTACT_WEIGHTS = [0.55, 0.05, 0.05, 0.05, 0.28, 0.02]


def _ids(prefix: str, count: int, width: int) -> pa.Array:
    """``prefix`` followed by 1..count, zero-padded: P0000001 …"""
    numbers = pc.cast(pa.array(np.arange(1, count + 1, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


def _codes(rng: np.random.Generator, codes: list[str], size: int, p=None) -> pa.Array:
    """Random codes, decoded from a dictionary (plain strings in the file)."""
    index = rng.choice(len(codes), size=size, p=p).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(index), pa.array(codes)).cast(pa.string())


def _dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=mask).cast(pa.date32())


def generate(out: Path, users: int, contacts: int, seed: int = 2012) -> None:
    """Write users, services, enrolments and contacts as Parquet files into ``out``."""
    from threeml.records.schema import TABLES

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # an interrupted run leaves no manifest
    for name in ("users", "services", "enrolments", "contacts"):
        (out / f"{name}.parquet").unlink(missing_ok=True)  # only the files written here
    started = time.perf_counter()

    # Areas and services: one service of each kind per area.
    area_names = _ids("LA", AREAS, 3)
    n_services = AREAS * len(SERVICE_KINDS)
    service_area = np.repeat(np.arange(AREAS), len(SERVICE_KINDS))
    service_kind = np.tile(np.arange(len(SERVICE_KINDS)), AREAS)
    kind_sector = np.array([0, 1, 0, 0, 3])  # telehealth: health, telecare: social care …
    service_ids = _ids("S", n_services, 4)
    services = pa.table(
        {
            "service_id": service_ids,
            "kind": pc.take(pa.array(SERVICE_KINDS), pa.array(service_kind)),
            "sector": pc.take(pa.array(SECTORS), pa.array(kind_sector[service_kind])),
            "area": pc.take(area_names, pa.array(service_area)),
            "provider": pc.binary_join_element_wise("Provider ", service_ids, ""),
            "annual_cost": pa.array(rng.uniform(50, 1500, n_services).round(2)),
        },
        schema=TABLES["services"].arrow_schema(),
    )
    pq.write_table(services, out / "services.parquet")

    # Users.
    user_ids = _ids("P", users, 8)
    user_area = rng.integers(0, AREAS, users)
    n_conditions = rng.choice(4, size=users, p=[0.3, 0.4, 0.2, 0.1])
    offsets = np.concatenate([[0], np.cumsum(n_conditions)]).astype(np.int32)
    condition_values = pc.take(
        pa.array(CONDITIONS), pa.array(rng.integers(0, len(CONDITIONS), int(offsets[-1])))
    )
    has_risk = rng.random(users) < 0.8
    table = pa.table(
        {
            "user_id": user_ids,
            "area": pc.take(area_names, pa.array(user_area)),
            "birth_year": pa.array(rng.integers(1915, 1990, users), mask=rng.random(users) < 0.05),
            "sex": _codes(rng, ["F", "M"], users),
            # Duplicate codes within a user are allowed by the schema (a list of codes).
            "conditions": pa.ListArray.from_arrays(pa.array(offsets), condition_values),
            "risk_score": pa.array(rng.beta(2, 5, users).round(3), mask=~has_risk),
        },
        schema=TABLES["users"].arrow_schema(),
    )
    pq.write_table(table, out / "users.parquet", row_group_size=1_000_000)
    del table

    # Enrolments: every user has one, some have more; with services in the user's area.
    n_enrolments = round(users * ENROLMENTS_PER_USER)
    enrolment_user = np.concatenate(
        [np.arange(users), rng.integers(0, users, n_enrolments - users)]
    )
    rng.shuffle(enrolment_user)
    enrolment_service = user_area[enrolment_user] * len(SERVICE_KINDS) + rng.choice(
        len(SERVICE_KINDS), size=n_enrolments, p=[0.25, 0.6, 0.05, 0.05, 0.05]
    )
    referred = rng.integers(FIRST_DAY, LAST_DAY - 30, n_enrolments)
    installed_ok = rng.random(n_enrolments) < 0.9
    installed = np.minimum(referred + rng.integers(0, 60, n_enrolments), LAST_DAY)
    ended_ok = installed_ok & (rng.random(n_enrolments) < 0.4)
    ended = np.minimum(installed + rng.integers(0, 900, n_enrolments), LAST_DAY)
    reason = rng.integers(0, len(END_REASONS), n_enrolments)
    enrolment_ids = _ids("E", n_enrolments, 9)
    table = pa.table(
        {
            "enrolment_id": enrolment_ids,
            "user_id": pc.take(user_ids, pa.array(enrolment_user)),
            "service_id": pc.take(service_ids, pa.array(enrolment_service)),
            "referred_on": _dates(referred),
            "installed_on": _dates(installed, installed_ok),
            "ended_on": _dates(ended, ended_ok),
            "end_reason": pc.if_else(
                pa.array(ended_ok),
                pc.take(pa.array(END_REASONS), pa.array(reason)),
                pa.scalar(None, pa.string()),
            ),
        },
        schema=TABLES["enrolments"].arrow_schema(),
    )
    pq.write_table(table, out / "enrolments.parquet", row_group_size=1_000_000)
    del table

    # Contacts: on installed enrolments, inside their installed window (to the extract date
    # when open), a few outside it (late uploads), written in date order.
    installed_index = np.flatnonzero(installed_ok)
    contact_enrolment = installed_index[rng.integers(0, installed_index.size, contacts)]
    window_end = np.where(ended_ok, ended, LAST_DAY)[contact_enrolment]
    window_start = installed[contact_enrolment]
    offset = (rng.random(contacts) * (window_end - window_start + 1)).astype(np.int64)
    contact_day = (window_start + offset).astype(np.int32)
    late = rng.random(contacts) < 0.001
    contact_day[late] = np.minimum(contact_day[late] + 30, LAST_DAY)
    del window_end, window_start, offset, late
    order = np.argsort(contact_day, kind="stable")
    contact_enrolment = contact_enrolment[order]
    contact_day = contact_day[order]
    del order
    kind_index = rng.choice(len(CONTACT_KINDS), size=contacts, p=CONTACT_WEIGHTS).astype(np.int8)
    schema = TABLES["contacts"].arrow_schema()
    kinds = pa.array(CONTACT_KINDS)
    with pq.ParquetWriter(out / "contacts.parquet", schema) as writer:
        for start in range(0, contacts, CHUNK):
            part = slice(start, min(start + CHUNK, contacts))
            chosen = pa.array(contact_enrolment[part])
            users_of = pa.array(enrolment_user[contact_enrolment[part]])
            chunk = pa.table(
                {
                    "user_id": pc.take(user_ids, users_of),
                    "enrolment_id": pc.take(enrolment_ids, chosen),
                    "date": _dates(contact_day[part]),
                    "kind": pc.take(kinds, pa.array(kind_index[part])),
                },
                schema=schema,
            )
            writer.write_table(chunk, row_group_size=1_000_000)
    manifest = {"users": users, "enrolments": n_enrolments, "contacts": contacts, "seed": seed}
    (out / MANIFEST).write_text(json.dumps(manifest))
    print(
        f"generated {users:,} users, {n_enrolments:,} enrolments, {contacts:,} contacts "
        f"in {out} in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def _present(out: Path, users: int, contacts: int) -> bool:
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    names = ("users", "services", "enrolments", "contacts")
    return (
        manifest.get("users") == users
        and manifest.get("contacts") == contacts
        and all((out / f"{name}.parquet").is_file() for name in names)
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=3_000_000)
    parser.add_argument("--contacts", type=int, default=50_000_000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate_only:
        generate(args.out, args.users, args.contacts)
        return 0
    if not _present(args.out, args.users, args.contacts):
        # A child process, so the generator's memory is not counted as the loader's.
        command = [sys.executable, __file__, "--generate-only", "--out", str(args.out)]
        command += ["--users", str(args.users), "--contacts", str(args.contacts)]
        subprocess.run(command, check=True)

    from threeml.data import Dataset

    started, cpu = time.perf_counter(), _cpu_seconds()
    dataset = Dataset.from_folder(args.out)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    rows = ", ".join(f"{name} {n:,}" for name, n in dataset.report.rows.items())
    print(f"loaded {args.out}: {rows}; valid: {dataset.report.ok}")
    print(f"extract date: {dataset.extract_date}")
    print(f"wall seconds (Dataset.from_folder, validation included): {seconds:.2f}")
    print(f"CPU seconds (user + system, all threads): {cpu:.2f}")
    print(f"peak RSS: {_peak_rss_mib():,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

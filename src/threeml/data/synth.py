"""A deterministic generator of realistic synthetic extracts in the interchange schema.

Everything is drawn with numpy in whole arrays (never a Python loop per row) and
written through Arrow with the schemas of :mod:`threeml.records.schema`, so the files
can never drift from the record types. The same ``users``, ``seed`` and options
give byte-identical files.

What it models, so that every standard definition and metric has something to
find:

* about 200 areas of log-normal sizes, each with a telecare service run by the
  council (social care) and one by a housing provider, and telehealth,
  telemedicine, self-care app (health) and telecoaching (third sector) services;
* enrolments mostly telecare (about 90 %), some telehealth (7 %) and telecoaching
  (3 %) — :class:`Mix` changes the shares — with many people holding two or more,
  across sectors; people with COPD, diabetes or heart failure are likelier to get
  telehealth;
* referrals never installed (declined or still waiting), open and ended
  enrolments with end reasons, and deaths that end every enrolment and every
  later event;
* over-dispersed contact counts that depend on the service (telehealth users
  send many readings, telecare users few alarm and test calls and the odd
  heartbeat), with about 3 % of contacts dated just outside their enrolment's
  installed window (valid data that simply does not count);
* risk scores driven by conditions and age, which drive emergency admissions,
  A&E attendances and deaths; admissions before and after the first telehealth
  installation (a little less often after);
* a trial allocating a subset of people with long-term conditions to
  intervention or control, with lower mortality in the intervention arm;
* a target per area for the ``telehealth`` definition, due on the extract date.

Parquet layout: every table is sorted by its natural key, and contacts by date
then enrolment, in row groups of a million rows, so an engine reading a period
skips most of the contacts file using the row groups' date statistics.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from attrs import field, frozen

from threeml.data.synth_populations import population_columns
from threeml.errors import ThreemlError
from threeml.records.schema import TABLES

__all__ = ["Mix", "SynthSummary", "synthesise"]

_EPOCH = date(1970, 1, 1)
ROW_GROUP = 1_000_000

CONDITIONS = ("copd", "diabetes", "heart_failure", "dementia", "falls", "stroke")
CONDITION_PREVALENCE = (0.15, 0.2, 0.1, 0.12, 0.18, 0.06)
LONG_TERM = (0, 1, 2)  # copd, diabetes, heart_failure

# Service slots per area: (kind, sector, annual cost).
SLOTS = (
    ("telecare", "social_care", 150.0),
    ("telecare", "housing", 120.0),
    ("telehealth", "health", 1200.0),
    ("telecoaching", "third_sector", 400.0),
    ("telemedicine", "health", 900.0),
    ("self_care_app", "health", 60.0),
)
END_REASONS = ("died", "care_home", "hospital", "declined", "abandoned", "moved", "other")
CONTACT_KINDS = (
    "reading",
    "alert",
    "alarm_call",
    "test_call",
    "heartbeat",
    "coaching_session",
    "video_consultation",
)


def _day(value: date) -> int:
    return (value - _EPOCH).days


@frozen
class Mix:
    """Shares of enrolments by service kind (the rest of the kinds are rare)."""

    telecare: float = field(default=0.90)
    telehealth: float = field(default=0.07)
    telecoaching: float = field(default=0.03)

    def probabilities(self) -> np.ndarray:
        """Per service slot (see ``SLOTS``): telecare split between council and housing."""
        shares = np.array(
            [self.telecare * 0.7, self.telecare * 0.3, self.telehealth, self.telecoaching, 0.0, 0.0]
        )
        if shares.sum() <= 0 or (shares < 0).any():
            raise ThreemlError("service shares must be non-negative and not all zero")
        return shares / shares.sum()


@frozen
class SynthSummary:
    """What was written: rows per table and the files."""

    folder: Path
    rows: dict[str, int]
    files: tuple[Path, ...]


def _ids(prefix: str, count: int) -> pa.Array:
    width = max(6, len(str(count)))
    numbers = pc.cast(pa.array(np.arange(1, count + 1, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    mask = None if missing is None else np.asarray(missing, dtype=bool)
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=mask).cast(pa.date32())


def _take(
    values: tuple[str, ...] | pa.Array, index: np.ndarray, missing: np.ndarray | None = None
) -> pa.Array:
    array = values if isinstance(values, pa.Array) else pa.array(list(values))
    taken = pc.take(array, pa.array(index))
    if missing is not None:
        taken = pc.if_else(pa.array(~missing), taken, pa.scalar(None, pa.string()))
    return taken


class _Writer:
    """Writes one table per file in the chosen format, with the record types' schema."""

    def __init__(self, folder: Path, fmt: str) -> None:
        if fmt not in ("parquet", "csv"):
            raise ThreemlError(f"format must be parquet or csv, not {fmt!r}")
        self.folder = folder
        self.fmt = fmt
        self.rows: dict[str, int] = {}
        self.files: list[Path] = []

    def open(self, name: str):
        schema = TABLES[name].arrow_schema()
        path = self.folder / f"{name}.{self.fmt}"
        if path.is_symlink():  # never write through a link: replace it by the file
            path.unlink()
        self.files.append(path)
        self.rows[name] = 0
        if self.fmt == "parquet":
            return pq.ParquetWriter(path, schema, compression="zstd")
        return _CsvWriter(path, schema)

    def write(self, name: str, columns: dict[str, pa.Array]) -> None:
        with self.open(name) as writer:
            self.append(writer, name, columns)

    def append(self, writer, name: str, columns: dict[str, pa.Array]) -> None:
        table = pa.table(columns, schema=TABLES[name].arrow_schema())
        if self.fmt == "parquet":
            writer.write_table(table, row_group_size=ROW_GROUP)
        else:
            writer.write_table(table)
        self.rows[name] += table.num_rows


class _CsvWriter:
    """CSV in the interchange form: conditions joined with ';', ISO dates, empty for null."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        self.handle = os.fdopen(os.open(path, flags, 0o666), "wb")  # closed in __exit__
        self.header = True

    def __enter__(self) -> _CsvWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def write_table(self, table: pa.Table) -> None:
        if "conditions" in table.column_names:
            joined = pc.binary_join(table["conditions"], ";")
            table = table.set_column(
                table.schema.get_field_index("conditions"), "conditions", joined
            )
        if self.header:
            self.handle.write((",".join(table.column_names) + "\n").encode())
            self.header = False
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        pacsv.write_csv(table, self.handle, write_options=options)


def synthesise(
    folder: str | Path,
    *,
    users: int,
    seed: int = 2012,
    fmt: str = "parquet",
    mix: Mix | None = None,
    areas: int = 200,
    start: date = date(2010, 1, 1),
    extract_date: date = date(2014, 3, 31),
) -> SynthSummary:
    """Write a synthetic extract of ``users`` people into ``folder``; return what was written."""
    if users < 1:
        raise ThreemlError("a synthetic extract needs at least one user")
    mix = mix or Mix()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in list(folder.glob("*.parquet")) + list(folder.glob("*.csv")):
        if old.stem in TABLES:
            old.unlink()
    rng = np.random.default_rng(seed)
    writer = _Writer(folder, fmt)
    first, last = _day(start), _day(extract_date)
    areas = max(1, min(areas, users))

    # Areas of log-normal sizes, and their services.
    weights = rng.lognormal(mean=0.0, sigma=0.9, size=areas)
    area_names = _ids("LA", areas)
    n_slots = len(SLOTS)
    service_ids = _ids("S", areas * n_slots)
    slot = np.tile(np.arange(n_slots), areas)
    writer.write(
        "services",
        {
            "service_id": service_ids,
            "kind": _take(tuple(s[0] for s in SLOTS), slot),
            "sector": _take(tuple(s[1] for s in SLOTS), slot),
            "area": pc.take(area_names, pa.array(np.repeat(np.arange(areas), n_slots))),
            "provider": pc.binary_join_element_wise("Provider ", service_ids, ""),
            "annual_cost": pa.array(
                np.array([s[2] for s in SLOTS])[slot]
                * rng.uniform(0.8, 1.2, areas * n_slots).round(2)
            ),
        },
    )

    # Users: area, age, sex, conditions, and a risk score driven by them.
    user_ids = _ids("P", users)
    user_area = rng.choice(areas, size=users, p=weights / weights.sum())
    birth_year = rng.integers(1915, 1975, users)
    has = rng.random((users, len(CONDITIONS))) < np.array(CONDITION_PREVALENCE)
    long_term = has[:, list(LONG_TERM)].any(axis=1)
    age = 2014 - birth_year
    logit = -1.6 + 0.55 * has.sum(axis=1) + 0.03 * (age - 70) + rng.normal(0, 0.6, users)
    risk = 1 / (1 + np.exp(-logit))
    risk_missing = rng.random(users) < 0.1
    counts = has.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    codes = np.nonzero(has)[1]
    writer.write(
        "users",
        {
            "user_id": user_ids,
            "area": pc.take(area_names, pa.array(user_area)),
            "birth_year": (births := pa.array(birth_year, mask=rng.random(users) < 0.03)),
            "sex": (sexes := _take(("F", "M"), rng.integers(0, 2, users))),
            "conditions": pa.ListArray.from_arrays(pa.array(offsets), _take(CONDITIONS, codes)),
            "risk_score": pa.array(risk.round(3), mask=risk_missing),
        },
    )

    # A trial among people with long-term conditions: allocation before deaths are drawn.
    in_trial = long_term & (rng.random(users) < 0.08)
    arm = rng.integers(0, 2, users)  # 1 = intervention
    # Allocated over the six months up to a year before the extract date, so that every
    # allocation has its full year of follow-up in the extract.
    trial_end = max(last - 364, first + 1)
    allocated = rng.integers(max(trial_end - 182, first), trial_end + 1, users)

    # Deaths: risk-driven, lower in the trial's intervention arm.
    yearly_death = 0.01 + 0.12 * risk**2
    yearly_death = np.where(in_trial & (arm == 1), yearly_death * 0.55, yearly_death)
    years = (last - first) / 365.25
    dies = rng.random(users) < 1 - (1 - yearly_death) ** years
    death = rng.integers(first + 180, last + 1, users)
    death = np.where(in_trial & dies, np.maximum(death, allocated + 1), death)

    # Enrolments: most people one, many two or more; kind by the mix, telehealth likelier
    # with a long-term condition.
    per_user = rng.choice([1, 2, 3, 4], size=users, p=[0.55, 0.3, 0.1, 0.05])
    owner = np.repeat(np.arange(users), per_user)
    n_enrolments = owner.size
    base = mix.probabilities()
    boosted = base.copy()
    boosted[2] *= 3
    boosted /= boosted.sum()
    u = rng.random(n_enrolments)
    slot_of = np.where(
        long_term[owner],
        np.searchsorted(np.cumsum(boosted), u, side="right"),
        np.searchsorted(np.cumsum(base), u, side="right"),
    ).clip(0, n_slots - 1)
    service_of = user_area[owner] * n_slots + slot_of
    latest_referral = np.where(dies[owner], death[owner] - 14, last - 7)
    referred = first + (rng.random(n_enrolments) * (latest_referral - first)).astype(np.int64)
    never = rng.random(n_enrolments) < 0.1
    installed = referred + rng.geometric(1 / 21, n_enrolments)
    never |= installed > np.where(dies[owner], death[owner], last)
    duration = rng.exponential(np.where(slot_of == 2, 420, 900), n_enrolments).astype(np.int64)
    ended = installed + duration
    reason = rng.choice(
        len(END_REASONS), size=n_enrolments, p=[0.0, 0.2, 0.15, 0.05, 0.3, 0.15, 0.15]
    )
    died_first = dies[owner] & (death[owner] <= ended)
    ended = np.where(died_first, death[owner], ended)
    reason = np.where(died_first, 0, reason)
    open_ = ended > last
    declined = never & (rng.random(n_enrolments) < 0.6)
    ended = np.where(never, referred + rng.integers(1, 30, n_enrolments), ended)
    reason = np.where(never, 3, reason)
    ended_missing = np.where(never, ~declined | (ended > last), open_)
    enrolment_ids = _ids("E", n_enrolments)
    writer.write(
        "enrolments",
        {
            "enrolment_id": enrolment_ids,
            "user_id": pc.take(user_ids, pa.array(owner)),
            "service_id": pc.take(service_ids, pa.array(service_of)),
            "referred_on": _dates(referred),
            "installed_on": _dates(installed, never),
            "ended_on": _dates(ended, ended_missing),
            "end_reason": _take(END_REASONS, reason, ended_missing),
        },
    )

    # Contacts: over-dispersed counts per installed enrolment, rates by service kind.
    window_end = np.where(ended_missing | never, last, np.minimum(ended, last))
    active_days = np.where(never, 0, np.maximum(window_end - installed + 1, 0))
    rate = np.array([0.012, 0.012, 0.2, 0.03, 0.02, 0.05])[slot_of]  # per day
    mean = rate * active_days
    shape = 0.8
    lam = rng.gamma(shape, np.where(mean > 0, mean / shape, 0))
    n_contacts = rng.poisson(lam)
    n_contacts[never] = 0
    which = np.repeat(np.arange(n_enrolments), n_contacts)
    total = which.size
    offset = (rng.random(total) * active_days[which]).astype(np.int64)
    day = installed[which] + offset
    outside = rng.random(total) < 0.03
    shift = rng.integers(1, 15, total)
    before = rng.random(total) < 0.5
    day = np.where(outside & before, installed[which] - shift, day)
    day = np.where(outside & ~before, window_end[which] + shift, day)
    day = np.clip(day, first - 30, last)
    kind_by_slot = np.array(
        [
            [0.0, 0.0, 0.45, 0.35, 0.2, 0.0, 0.0],  # telecare council: alarm, test, heartbeat
            [0.0, 0.0, 0.45, 0.35, 0.2, 0.0, 0.0],
            [0.85, 0.1, 0.0, 0.0, 0.0, 0.0, 0.05],  # telehealth: readings, alerts, video
            [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],  # telecoaching
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],  # telemedicine
            [0.9, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0],  # self-care app
        ]
    ).cumsum(axis=1)
    kind = (rng.random(total)[:, None] > kind_by_slot[slot_of[which]]).sum(axis=1)
    kind = np.minimum(kind, len(CONTACT_KINDS) - 1)
    order = np.lexsort((which, day))
    which, day, kind = which[order], day[order], kind[order]
    del order, offset, outside, shift, before
    with writer.open("contacts") as out:
        for lo in range(0, total, ROW_GROUP):
            part = slice(lo, min(lo + ROW_GROUP, total))
            writer.append(
                out,
                "contacts",
                {
                    "user_id": pc.take(user_ids, pa.array(owner[which[part]])),
                    "enrolment_id": pc.take(enrolment_ids, pa.array(which[part])),
                    "date": _dates(day[part]),
                    "kind": _take(CONTACT_KINDS, kind[part]),
                },
            )
        if total == 0:
            writer.append(
                out,
                "contacts",
                {
                    name: pa.array([], type=t)
                    for name, t in zip(
                        TABLES["contacts"].column_names,
                        TABLES["contacts"].arrow_schema().types,
                        strict=True,
                    )
                },
            )
    del which, day, kind

    # Outcomes: admissions and attendances driven by risk, a little rarer after the first
    # telehealth installation; nothing after death; deaths and care-home admissions recorded.
    is_th = (slot_of == 2) & ~never
    first_th = np.full(users, np.iinfo(np.int64).max)
    np.minimum.at(first_th, owner[is_th], installed[is_th])
    alive_until = np.where(dies, death, last)
    span = np.maximum(alive_until - first + 1, 1)
    events = []
    for kind_name, base_rate, risk_rate in (
        ("emergency_admission", 0.05, 0.6),
        ("ae_attendance", 0.15, 0.9),
        ("elective_admission", 0.05, 0.1),
    ):
        yearly = base_rate + risk_rate * risk
        n = rng.poisson(yearly * span / 365.25)
        who = np.repeat(np.arange(users), n)
        when = first + (rng.random(who.size) * span[who]).astype(np.int64)
        if kind_name == "emergency_admission":
            keep = (when < first_th[who]) | (rng.random(who.size) < 0.8)
            who, when = who[keep], when[keep]
        events.append((kind_name, who, when))
    care_home = (reason == 1) & ~ended_missing & ~never
    events.append(("care_home_admission", owner[care_home], ended[care_home]))
    events.append(("death", np.flatnonzero(dies), death[dies]))
    kinds_out = np.concatenate([np.full(w.size, i) for i, (_, w, _) in enumerate(events)])
    who = np.concatenate([w for _, w, _ in events])
    when = np.concatenate([d for _, _, d in events])
    order = np.lexsort((kinds_out, when, who))
    kinds_out, who, when = kinds_out[order], who[order], when[order]
    names = tuple(name for name, _, _ in events)
    admission = np.isin(kinds_out, [0, 2, 3])
    los = np.where(admission, rng.geometric(1 / 5, who.size), 0)
    cost = np.where(kinds_out == 1, 180.0, np.where(admission, 400.0 * los, 0.0))
    writer.write(
        "outcomes",
        {
            "user_id": pc.take(user_ids, pa.array(who)),
            "date": _dates(when),
            "kind": _take(names, kinds_out),
            "value": pa.array(los.astype(float), mask=~admission),
            "cost": pa.array(cost, mask=cost == 0),
        },
    )

    # Trial allocations and area targets.
    trial = np.flatnonzero(in_trial)
    writer.write(
        "allocations",
        {
            "user_id": pc.take(user_ids, pa.array(trial)),
            "trial": pa.array(["wsd-telehealth"] * trial.size, pa.string()),
            "arm": _take(("control", "intervention"), arm[trial]),
            "allocated_on": _dates(allocated[trial]),
        },
    )
    per_area = np.bincount(user_area, minlength=areas)
    target = np.maximum(np.round(per_area * 0.08 / 10) * 10, 10)
    writer.write(
        "targets",
        {
            "definition": pa.array(["telehealth"] * (areas + 1), pa.string()),
            "area": pa.concat_arrays([area_names, pa.array(["all"])]),
            "value": pa.array(np.append(target, target.sum()).astype(float)),
            "due": _dates(np.full(areas + 1, last)),
        },
    )
    # Populations consistent with the users (their own generator, so other tables keep theirs).
    years = range(start.year, extract_date.year + 1)
    own = np.random.default_rng([seed, 17])
    columns = population_columns(own, area_names, user_area, births, sexes, years)
    writer.write("populations", columns)
    return SynthSummary(folder=folder, rows=dict(writer.rows), files=tuple(writer.files))

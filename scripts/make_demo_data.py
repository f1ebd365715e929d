"""Write the small bundled demo extract in ``src/threeml/demo_data/``.

A stand-in until the synthetic generator lands: a few hundred users in three
areas, with telecare, telehealth and telecoaching enrolments, contacts,
outcomes, a small trial and targets. Deterministic (fixed seed).

    python scripts/make_demo_data.py
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "threeml" / "demo_data"
START = date(2012, 1, 1)
EXTRACT = date(2013, 12, 31)


def day(offset: int) -> date:
    return START + timedelta(days=offset)


def main(users: int = 400, seed: int = 2012) -> None:
    rng = random.Random(seed)
    areas = ["Cornwall", "Kent", "Newham"]
    services = [
        ("tc-cornwall", "telecare", "social_care", "Cornwall", "Lifeline South West", 120),
        ("th-cornwall", "telehealth", "health", "Cornwall", "Cornwall NHS", 900),
        ("tc-kent", "telecare", "social_care", "Kent", "Kent Careline", 110),
        ("th-kent", "telehealth", "health", "Kent", "Kent Community Health", 850),
        ("tco-kent", "telecoaching", "third_sector", "Kent", "Health Coaching Trust", 300),
        ("tc-newham", "telecare", "housing", "Newham", "Newham Homes", 100),
        ("th-newham", "telehealth", "health", "Newham", "Newham NHS", 950),
    ]
    by_area = {a: [s for s in services if s[3] == a] for a in areas}
    rows = {name: [] for name in ("users", "enrolments", "contacts", "outcomes", "allocations")}
    conditions = ["copd", "diabetes", "heart_failure", "dementia", "falls"]
    enrolment_no = 0
    for n in range(1, users + 1):
        user_id = f"P{n:05d}"
        area = rng.choice(areas)
        chosen = sorted(rng.sample(conditions, rng.choice([0, 0, 1, 1, 2])))
        risk = round(rng.betavariate(2, 4), 3)
        rows["users"].append(
            [
                user_id,
                area,
                rng.randint(1925, 1960),
                rng.choice("FM"),
                ";".join(chosen),
                risk if rng.random() > 0.05 else "",
            ]
        )
        kinds = ["telecare"] + (["telehealth"] if rng.random() < 0.3 else [])
        kinds += ["telecoaching"] if area == "Kent" and rng.random() < 0.1 else []
        for kind in kinds:
            service = next(s for s in by_area[area] if s[1] == kind)
            enrolment_no += 1
            enrolment_id = f"E{enrolment_no:06d}"
            referred = rng.randint(0, 650)
            installed = referred + rng.randint(3, 60) if rng.random() > 0.12 else None
            ended = reason = None
            if installed is not None and rng.random() < 0.3:
                ended = installed + rng.randint(20, 400)
                reason = rng.choice(
                    ["died", "care_home", "hospital", "abandoned", "moved", "other"]
                )
                if day(ended) > EXTRACT:
                    ended = reason = None
            rows["enrolments"].append(
                [
                    enrolment_id,
                    user_id,
                    service[0],
                    day(referred),
                    day(installed) if installed is not None else "",
                    day(ended) if ended is not None else "",
                    reason or "",
                ]
            )
            if installed is None:
                continue
            last = min(ended if ended is not None else 10**6, (EXTRACT - START).days)
            contact_kind = {
                "telecare": "alarm_call",
                "telehealth": "reading",
                "telecoaching": "coaching_session",
            }[kind]
            per_week = {"telecare": 0.3, "telehealth": 4.0, "telecoaching": 0.5}[kind]
            t = installed
            while t <= last + 3:
                t += max(1, int(rng.expovariate(per_week / 7)))
                if t <= (EXTRACT - START).days:
                    rows["contacts"].append([user_id, enrolment_id, day(t), contact_kind])
            if kind == "telecare" and rng.random() < 0.7:
                # Pendant units report a heartbeat every few days; the extract keeps the last 90.
                t = max(installed, (EXTRACT - START).days - 90)
                silent_from = last - rng.choice([0, 0, 0, 5, 12, 30])
                while t <= min(last, silent_from):
                    rows["contacts"].append([user_id, enrolment_id, day(t), "heartbeat"])
                    t += rng.choice([2, 3, 3, 4])
            if kind == "telehealth" and rng.random() < 0.4:
                rows["allocations"].append(
                    [user_id, "wsd-demo", rng.choice(["intervention", "control"]), day(installed)]
                )
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            kind = rng.choice(["emergency_admission", "ae_attendance", "elective_admission"])
            value = rng.randint(1, 14) if kind.endswith("admission") else ""
            rows["outcomes"].append(
                [user_id, day(rng.randint(0, 729)), kind, value, rng.randint(200, 4000)]
            )
        if rng.random() < 0.04:
            rows["outcomes"].append([user_id, day(rng.randint(400, 729)), "death", "", ""])
    headers = {
        "users": ["user_id", "area", "birth_year", "sex", "conditions", "risk_score"],
        "services": ["service_id", "kind", "sector", "area", "provider", "annual_cost"],
        "enrolments": [
            "enrolment_id",
            "user_id",
            "service_id",
            "referred_on",
            "installed_on",
            "ended_on",
            "end_reason",
        ],
        "contacts": ["user_id", "enrolment_id", "date", "kind"],
        "outcomes": ["user_id", "date", "kind", "value", "cost"],
        "allocations": ["user_id", "trial", "arm", "allocated_on"],
        "targets": ["definition", "area", "value", "due"],
    }
    rows["services"] = [list(s) for s in services]
    rows["contacts"].sort(key=lambda r: (r[2], r[0]))
    rows["targets"] = [["telehealth", a, 60, date(2014, 3, 31)] for a in areas]
    rows["targets"].append(["telehealth", "all", 180, date(2014, 3, 31)])
    OUT.mkdir(parents=True, exist_ok=True)
    for name, header in headers.items():
        with open(OUT / f"{name}.csv", "w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows[name])


if __name__ == "__main__":
    main()

"""The cell-key policy: the published table, the engine's cell keys, stability and differencing."""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from pathlib import Path
from unittest import mock

import duckdb
import pytest
import strategies
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threeml.cli import cli, main
from threeml.data import Dataset
from threeml.definitions.cellkey import STANDARD_NOISE, CellKeyMethod
from threeml.engine.cellkeys import (
    SEED_FILE,
    SEED_VARIABLE,
    CellKeySeedError,
    dataset_seed,
    record_key,
)
from threeml.engine.evaluate import count, count_many
from threeml.plugins.registry import default_registry
from threeml.publish.counts import MissingCellKeys, publish_count
from threeml.publish.disclosure import CELL_KEY_POLICY, DEFAULT_POLICY, policy_named

METHOD = CELL_KEY_POLICY.cell_key
SEED = "test-seed-0123456789abcdef"
THRESHOLD = CELL_KEY_POLICY.threshold

# ---------------------------------------------------------------- the published table


def test_the_standard_table_is_the_documented_one() -> None:
    assert CellKeyMethod() == METHOD
    assert METHOD.key_range == 256
    assert STANDARD_NOISE == ((-2, 13), (-1, 51), (0, 128), (1, 51), (2, 13))
    assert METHOD.max_noise == 2
    assert METHOD.variance == pytest.approx(206 / 256)
    # Symmetric, so the noise has mean 0.
    assert sum(n * k for n, k in STANDARD_NOISE) == 0
    # The cell keys each noise gets, in order: 0-12 get -2, 13-63 get -1, ...
    assert [METHOD.noise_for(k) for k in (0, 12, 13, 63, 64, 191, 192, 242, 243, 255)] == [
        -2, -2, -1, -1, 0, 0, 1, 1, 2, 2,
    ]  # fmt: skip


def test_every_key_gets_the_tables_noise_exactly_as_often_as_documented() -> None:
    seen = Counter(METHOD.noise_for(key) for key in range(METHOD.key_range))
    assert dict(seen) == {noise: keys for noise, keys in STANDARD_NOISE}


def test_a_table_must_cover_the_key_range() -> None:
    with pytest.raises(ValueError, match="every cell key"):
        CellKeyMethod(noise=((0, 255),))
    with pytest.raises(ValueError, match="power of two"):
        CellKeyMethod(key_range=100, noise=((0, 100),))


@given(value=st.integers(min_value=0, max_value=10**7), key=st.integers(0, 255))
def test_noise_follows_the_table(value: int, key: int) -> None:
    published = CELL_KEY_POLICY.apply_keyed(value, key)
    if value == 0:
        assert published == 0  # zero cells stay zero
    elif value <= THRESHOLD:
        assert published is None  # small cells are suppressed
    else:
        assert published is not None
        assert published > THRESHOLD  # never published inside the suppressed range
        assert abs(published - value) <= METHOD.max_noise
        assert published == max(THRESHOLD + 1, value + METHOD.noise_for(key))


@given(
    value=st.integers(min_value=THRESHOLD + 3, max_value=10**6),
    keys=st.lists(st.integers(0, 2**16), min_size=1, max_size=40),
)
def test_a_cell_key_is_the_sum_of_record_keys_and_decides_the_noise(
    value: int, keys: list[int]
) -> None:
    cell_key = sum(keys) % METHOD.key_range
    assert CELL_KEY_POLICY.apply_keyed(value, cell_key) - value == METHOD.noise_for(cell_key)


def test_without_a_key_the_policy_falls_back_to_rounding() -> None:
    assert CELL_KEY_POLICY.apply_keyed(12, None) == CELL_KEY_POLICY.apply(12) == 10
    assert CELL_KEY_POLICY.apply_breakdown([3, 40, 12]) == [None, 40, None]


def test_policy_by_name_states_its_parameters() -> None:
    assert policy_named("cell-key") is CELL_KEY_POLICY
    described = CELL_KEY_POLICY.describe()
    for part in ("counts 1-7 suppressed", "threeml-ptable-1", "0-255", "variance 0.80"):
        assert part in described
    data = CELL_KEY_POLICY.to_dict()
    assert data["cell_key"]["key_range"] == 256
    assert data["cell_key"]["noise"][0] == {"noise": -2, "keys": 13}
    assert "seed" not in json.dumps(data)


# ---------------------------------------------------------------- extracts


def _extract(folder: Path, people: dict[str, tuple[str, str, str]]) -> Path:
    """A folder extract: per user id, (area, service kind, installed_on); nobody leaves."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users.csv").write_text(
        "user_id,area,birth_year,sex,conditions,risk_score\n"
        + "".join(f"{uid},{area},1940,F,,\n" for uid, (area, _, _) in people.items())
    )
    (folder / "services.csv").write_text(
        "service_id,kind,sector,area,provider,annual_cost\n"
        "th,telehealth,health,Kent,,\ntc,telecare,social_care,Kent,,\n"
    )
    (folder / "enrolments.csv").write_text(
        "enrolment_id,user_id,service_id,referred_on,installed_on,ended_on,end_reason\n"
        + "".join(
            f"E{uid},{uid},{'th' if kind == 'telehealth' else 'tc'},,{day},,\n"
            for uid, (_, kind, day) in people.items()
        )
    )
    (folder / "contacts.csv").write_text("user_id,enrolment_id,date,kind\n")
    return folder


def _people(n: int, *, kind: str = "telehealth", day: str = "2012-06-01") -> dict:
    areas = ("Kent", "Cornwall", "Newham")
    return {f"P{i:04d}": (areas[i % 3], kind, day) for i in range(n)}


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SEED_VARIABLE, SEED)
    return SEED


def _published(result, policy=CELL_KEY_POLICY):
    document = publish_count(result, policy)
    return document.totals["count"], {
        name: [(cell.group, cell.count) for cell in cells]
        for name, cells in document.breakdowns.items()
    }


# ---------------------------------------------------------------- the engine's cell keys


def test_engine_cell_keys_are_sums_of_record_keys(tmp_path: Path, seeded: str) -> None:
    people = _people(40)
    people.update({f"Q{i}": ("Kent", "telecare", "2013-03-01") for i in range(9)})
    dataset = Dataset.from_folder(_extract(tmp_path / "x", people))
    registry = default_registry()
    names = ("in-receipt", "telehealth", "connections")
    results = count_many(
        [registry.counting(n) for n in names],
        dataset,
        "2013",
        by=("area", "service_kind"),
        registry=registry,
        cell_keys=METHOD,
    )

    def key_of(ids, kind="u"):
        return sum(record_key(seed=SEED, kind=kind, unit_id=i, key_range=256) for i in ids) % 256

    for name in ("in-receipt", "telehealth"):
        result = results[name]
        members = result.members()
        assert result.cell_keys.count == key_of(members)
        assert result.attrition[-1].key == key_of(members)
        assert result.cell_keys.considered == key_of(people)
        by_area = {row.value: row.key for row in result.breakdowns["area"]}
        for area, key in by_area.items():
            assert key == key_of(m for m in members if people[m][0] == area)
        for row in result.breakdowns["service_kind"]:
            assert row.key == key_of(m for m in members if people[m][1] == row.value)
        assert result.cell_keys.records == key_of((f"E{m}" for m in members), "e")
    connections = results["connections"]
    enrolments = connections.members()
    assert connections.cell_keys.count == key_of(enrolments, "e")
    assert connections.cell_keys.users == key_of(e[1:] for e in enrolments)


def test_identical_member_sets_publish_identical_cells(tmp_path: Path, seeded: str) -> None:
    # Everyone in receipt has telehealth, installed before 2013 and still open: in-receipt and
    # telehealth count the same people, in 2013 and in June 2013 alike.
    dataset = Dataset.from_folder(_extract(tmp_path / "x", _people(60)))
    registry = default_registry()
    published = {
        (name, period): _published(
            count(
                registry.counting(name),
                dataset,
                period,
                by=("area",),
                registry=registry,
                cell_keys=METHOD,
            )
        )
        for name in ("in-receipt", "telehealth")
        for period in ("2013", "2013-06")
    }
    assert len(set(map(repr, published.values()))) == 1
    # And the perturbation did something somewhere, or this test would prove nothing.
    raw = count(registry.counting("in-receipt"), dataset, "2013", by=("area",), registry=registry)
    raw_cells = [row.count for row in raw.breakdowns["area"]]
    total, cells = published["in-receipt", "2013"]
    assert (total, [c for _, c in cells["area"]]) != (raw.count, raw_cells)


def test_two_extract_copies_with_the_same_seed_publish_the_same(tmp_path: Path) -> None:
    people = _people(50)
    first = Dataset.from_folder(_extract(tmp_path / "a", people))
    seed = dataset_seed(first)
    path = tmp_path / "a" / SEED_FILE
    assert path.read_text().strip() == seed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dataset_seed(first) == seed  # read back, not created again
    second_folder = _extract(tmp_path / "b", people)
    (second_folder / SEED_FILE).write_text(seed + "\n")
    registry = default_registry()
    definition = registry.counting("in-receipt")
    results = [
        _published(count(definition, Dataset.from_folder(f), "2013", cell_keys=METHOD))
        for f in (tmp_path / "a", second_folder)
    ]
    assert results[0] == results[1]


def test_a_dataset_that_is_not_a_folder_needs_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(SEED_VARIABLE, raising=False)
    folder = _extract(tmp_path / "x", _people(10))
    dataset = Dataset.from_folder(folder)
    memory = Dataset.from_arrow(
        {name: table.to_pyarrow() for name, table in dataset.tables.items()}
    )
    with pytest.raises(CellKeySeedError, match=SEED_VARIABLE):
        dataset_seed(memory)
    monkeypatch.setenv(SEED_VARIABLE, SEED)
    assert dataset_seed(memory) == SEED
    assert not (folder / SEED_FILE).exists()


def test_publishing_without_cell_keys_is_refused(tmp_path: Path, seeded: str) -> None:
    dataset = Dataset.from_folder(_extract(tmp_path / "x", _people(20)))
    result = count(default_registry().counting("in-receipt"), dataset, "2013")
    with pytest.raises(MissingCellKeys, match="cell_keys"):
        publish_count(result, CELL_KEY_POLICY)
    # Other policies do not need them, and ignore them when present.
    keyed = count(default_registry().counting("in-receipt"), dataset, "2013", cell_keys=METHOD)
    assert _published(keyed, DEFAULT_POLICY) == _published(result, DEFAULT_POLICY)


# ---------------------------------------------------------------- differencing


def test_one_more_person_does_not_show_as_a_difference_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two publications whose cells differ by one person: the published difference varies
    (it is not always 1), so it does not pin who or how many joined."""
    people = _people(30)
    people["NEW"] = ("Kent", "telehealth", "2013-06-15")
    dataset = Dataset.from_folder(_extract(tmp_path / "x", people))
    definition = default_registry().counting("in-receipt")
    differences = Counter()
    for trial in range(40):
        monkeypatch.setenv(SEED_VARIABLE, f"seed-{trial}")
        before = _published(count(definition, dataset, "2013-06-01:2013-06-14", cell_keys=METHOD))
        after = _published(count(definition, dataset, "2013-06-01:2013-06-15", cell_keys=METHOD))
        differences[after[0] - before[0]] += 1
        kent_before = dict(before[1]["area"])["Kent"]
        kent_after = dict(after[1]["area"])["Kent"]
        differences[kent_after - kent_before] += 1
    assert differences[1] < sum(differences.values()) / 2
    assert len(differences) >= 3
    assert all(abs(d - 1) <= 2 * METHOD.max_noise for d in differences)


# ---------------------------------------------------------------- every command


@pytest.fixture
def cli_extract(tmp_path: Path, seeded: str) -> Path:
    people = _people(45)
    people.update({f"C{i}": ("Kent", "telecare", "2013-02-01") for i in range(12)})
    return _extract(tmp_path / "x", people)


@pytest.mark.parametrize(
    "args",
    [
        ["count", "in-receipt", "--by", "area"],
        ["count", "in-receipt", "--format", "json"],
        ["count", "in-receipt", "--format", "csv"],
        ["compare", "in-receipt", "telehealth", "--by", "area"],
        ["compare", "in-receipt", "telehealth", "--format", "csv"],
        ["metric", "multi-sector-share", "--by", "area"],
        ["metric", "multi-sector-share", "--format", "json"],
    ],
)
def test_every_command_states_the_parameters_and_never_the_seed(
    cli_extract: Path, args: list[str]
) -> None:
    result = CliRunner().invoke(
        cli, [*args, "--data", str(cli_extract), "--period", "2013", "--disclosure", "cell-key"]
    )
    assert result.exit_code == 0, result.output
    assert SEED not in result.output
    if "csv" not in args or args[0] == "count":
        assert "threeml-ptable-1" in result.output.replace("\n", "")


def test_the_report_states_the_parameters_and_never_the_seed(
    cli_extract: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli,
        [
            *("report", "--data", str(cli_extract), "--period", "2013", "--out", str(out)),
            *("--disclosure", "cell-key", "--definitions", "in-receipt,telehealth"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert SEED not in result.output
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8", errors="replace")
        assert SEED not in text, path.name
    data = json.loads((out / "results.json").read_text())
    assert data["disclosure"]["cell_key"]["table"] == "threeml-ptable-1"
    assert "threeml-ptable-1" in (out / "report.html").read_text()


def test_a_database_extract_without_the_variable_is_refused_clearly(
    cli_extract: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    monkeypatch.delenv(SEED_VARIABLE)
    database = tmp_path / "extract.duckdb"
    with duckdb.connect(str(database)) as con:
        for table in ("users", "services", "enrolments", "contacts"):
            con.execute(
                f"create table {table} as select * from read_csv('{cli_extract / table}.csv', "
                "all_varchar=true)"
            )
    code = main(
        [
            *("count", "in-receipt", "--data", str(database), "--period", "2013"),
            *("--disclosure", "cell-key"),
        ]
    )
    assert code != 0
    assert SEED_VARIABLE in capsys.readouterr().err.replace("\n", "")


# ---------------------------------------------------------------- properties on random extracts


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_published_cell_key_is_its_members_record_keys(data: st.DataObject) -> None:
    extract = data.draw(strategies.extracts())
    period = data.draw(strategies.periods(extract))
    registry = default_registry()
    names = ("in-receipt", "telehealth", "connections")
    with mock.patch.dict(os.environ, {SEED_VARIABLE: SEED}):
        results = count_many(
            [registry.counting(n) for n in names],
            extract.dataset(),
            period,
            by=("area",),
            registry=registry,
            cell_keys=METHOD,
        )
    for name, result in results.items():
        kind = "e" if name == "connections" else "u"
        members = result.members()
        keys = {m: record_key(SEED, kind, m, 256) for m in members}
        assert result.cell_keys.count == sum(keys.values()) % 256
        published = publish_count(result, CELL_KEY_POLICY)
        count = published.totals["count"]
        if result.count == 0:
            assert count == 0
        elif result.count <= THRESHOLD:
            assert count is None
        else:
            assert abs(count - result.count) <= METHOD.max_noise


def test_a_report_with_suppressed_totals_is_written_in_every_format(
    tmp_path: Path, seeded: str
) -> None:
    people = _people(5)
    people.update({f"C{i}": ("Kent", "telecare", "2013-05-01") for i in range(20)})
    folder = _extract(tmp_path / "x", people)
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli,
        [
            *("report", "--data", str(folder), "--period", "2013", "--out", str(out)),
            *("--disclosure", "cell-key", "--metrics", "none"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    telehealth = next(d for d in data["definitions"] if d["name"] == "telehealth")
    assert telehealth["count"] is None  # 5 people: suppressed, totals included
    assert all(value is None for value in data["over_time"]["counts"]["telehealth"])
    assert "suppressed" in (out / "report.html").read_text()

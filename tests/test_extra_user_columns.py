"""An extract's extra users columns (GP practice, locality, deprivation decile …) as breakdowns.

Loading keeps the users columns the schema does not name, as text; ``--by`` takes them on
``count``, ``compare``, ``metric`` and ``report``, refused (as any breakdown) when a column
has too many values to publish safely. Columns of other tables are still ignored with a
warning, as are extra users columns whose names threeml reserves.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import VALID_CSV

from threeml.cli import main
from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.data.report import ProblemKind
from threeml.engine.breakdowns import MAX_DISTINCT, BreakdownError, user_breakdowns
from threeml.engine.evaluate import count
from threeml.plugins.registry import default_registry
from threeml.records.schema import TABLES

MakeFolder = Callable[..., Path]

#: VALID_CSV's users with a GP practice and a deprivation decile (a number, kept as text;
#: U3's decile is empty and its practice padded with spaces).
USERS = (
    "user_id,area,birth_year,sex,conditions,risk_score,gp_practice,deprivation_decile\n"
    "U1,Kent,1940,F,copd;diabetes,0.2,P1,3\n"
    "U2,Kent,1950,M,,0.7,P1,10\n"
    "U3,Cornwall,,,heart_failure,, P2 ,\n"
)


def _unknown_columns(dataset: Dataset) -> dict[str, str]:
    return {
        p.column: p.message for p in dataset.report.examples if p.kind is ProblemKind.UNKNOWN_COLUMN
    }


def test_extra_users_columns_are_kept_as_text(make_folder: MakeFolder) -> None:
    dataset = Dataset.from_folder(make_folder(users=USERS))
    assert dataset.report.ok
    assert dataset.report.warnings == 0  # kept, so nothing was ignored
    users = dataset.table("users")
    assert users.columns[-2:] == ("gp_practice", "deprivation_decile")
    assert users.schema()["deprivation_decile"].is_string()
    rows = {r["user_id"]: r for r in users.to_pyarrow().to_pylist()}
    assert rows["U1"]["deprivation_decile"] == "3"
    assert rows["U2"]["deprivation_decile"] == "10"
    assert rows["U3"]["deprivation_decile"] is None  # an empty cell is missing, as elsewhere
    assert rows["U3"]["gp_practice"] == "P2"  # trimmed like every CSV cell


def test_a_count_breaks_down_by_an_extra_column(make_folder: MakeFolder) -> None:
    # In 2013 U1 (E1, open) and U2 (E2, to 30 June) are in receipt; U3 was never installed.
    registry = default_registry()
    dataset = Dataset.from_folder(make_folder(users=USERS))
    result = count(
        registry.counting("in-receipt"), dataset, "2013", by=("gp_practice",), registry=registry
    )
    assert {(row.value, row.count) for row in result.breakdowns["gp_practice"]} == {("P1", 2)}
    by_decile = count(
        registry.counting("referred"), dataset, "2013", by=("deprivation_decile",),
        registry=registry,
    )  # fmt: skip
    # referred in 2013: U1 (E1), U2 (E2), U3 (E3, decile unknown)
    assert sorted(
        (str(row.value), row.count) for row in by_decile.breakdowns["deprivation_decile"]
    ) == [("10", 1), ("3", 1), ("None", 1)]


def test_only_the_extracts_columns_are_offered(make_folder: MakeFolder) -> None:
    with_extra = Dataset.from_folder(make_folder(users=USERS)).table("users")
    plain = Dataset.from_folder(make_folder()).table("users")
    assert user_breakdowns(with_extra)[-2:] == ["gp_practice", "deprivation_decile"]
    assert "gp_practice" not in user_breakdowns(plain)
    registry = default_registry()
    with pytest.raises(Exception, match="cannot break down by 'gp_practice'"):
        count(
            registry.counting("in-receipt"), Dataset.from_folder(make_folder()), "2013",
            by=("gp_practice",), registry=registry,
        )  # fmt: skip


def test_an_extra_column_with_too_many_values_is_refused_with_what_to_do(
    make_folder: MakeFolder,
) -> None:
    lines = ["user_id,area,birth_year,sex,conditions,risk_score,postcode"]
    lines += [f"U{i},Kent,1940,F,,,AB{i} 1CD" for i in range(1, MAX_DISTINCT + 2)]
    users = "\n".join(lines) + "\n"
    enrolments = "enrolment_id,user_id,service_id,referred_on,installed_on,ended_on,end_reason\n"
    contacts = "user_id,enrolment_id,date,kind\n"
    dataset = Dataset.from_folder(
        make_folder(
            users=users, enrolments=enrolments, contacts=contacts, outcomes=None,
            allocations=None,
        )
    )  # fmt: skip
    registry = default_registry()
    with pytest.raises(BreakdownError) as caught:
        count(
            registry.counting("in-receipt"), dataset, "2013", by=("postcode",),
            registry=registry,
        )  # fmt: skip
    message = str(caught.value)
    assert "'postcode'" in message
    assert f"{MAX_DISTINCT + 1} distinct values" in message
    assert "band the column in the extract" in message


def test_reserved_names_and_other_tables_extra_columns_are_ignored_with_the_reason(
    make_folder: MakeFolder,
) -> None:
    lines = VALID_CSV["users"].splitlines()
    users = "\n".join(
        [lines[0] + ",_secret,Area,age_band"] + [line + ",x,y,z" for line in lines[1:]]
    )
    services = VALID_CSV["services"].splitlines()
    services_text = "\n".join([services[0] + ",contract"] + [s + ",c" for s in services[1:]])
    dataset = Dataset.from_folder(make_folder(users=users + "\n", services=services_text + "\n"))
    assert dataset.report.ok
    ignored = _unknown_columns(dataset)
    assert set(ignored) == {"_secret", "Area", "age_band", "contract"}
    assert "threeml's own" in ignored["_secret"]
    assert "only in case" in ignored["Area"]
    assert "breakdown threeml derives" in ignored["age_band"]
    assert "not part of table services" in ignored["contract"]
    assert dataset.table("users").columns == TABLES["users"].column_names
    assert dataset.table("services").columns == TABLES["services"].column_names


def test_parquet_and_arrow_keep_extra_columns_as_text(tmp_path: Path) -> None:
    folder = tmp_path / "extract"
    folder.mkdir()
    for name, text in VALID_CSV.items():
        (folder / f"{name}.csv").write_text(text)
    users = pacsv.read_csv(
        pa.py_buffer(VALID_CSV["users"].encode()),
        convert_options=pacsv.ConvertOptions(column_types={"conditions": pa.string()}),
    )
    users = users.set_column(
        users.schema.get_field_index("conditions"),
        "conditions",
        pa.array([["copd", "diabetes"], [], ["heart_failure"]], pa.list_(pa.string())),
    ).append_column("deprivation_decile", pa.array([3, 10, None], pa.int64()))
    (folder / "users.csv").unlink()
    pq.write_table(users, folder / "users.parquet")
    from_parquet = Dataset.from_folder(folder).table("users")
    assert from_parquet.schema()["deprivation_decile"].is_string()
    values = sorted(str(v) for v in from_parquet.deprivation_decile.to_pyarrow().to_pylist())
    assert values == ["10", "3", "None"]
    others = ("services", "enrolments", "contacts")
    arrow = {n: pacsv.read_csv(folder / f"{n}.csv") for n in others}
    from_arrow = Dataset.from_arrow({"users": users, **arrow})
    assert "deprivation_decile" in from_arrow.table("users").columns


@pytest.fixture(scope="module")
def demo_with_practices(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo extract with a ``gp_practice`` column (seven practices) in its users."""
    folder = tmp_path_factory.mktemp("demo") / "demo"
    shutil.copytree(demo_folder(), folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (folder / "users.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    rows[0].append("gp_practice")
    for index, row in enumerate(rows[1:]):
        row.append(f"P{index % 7}")
    with (folder / "users.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return str(folder)


@pytest.mark.parametrize(
    "command",
    [
        ["count", "in-receipt"],
        ["compare", "in-receipt", "active"],
        pytest.param(
            ["metric", "user-years"],
            marks=pytest.mark.skipif(
                "user-years" not in default_registry(),
                reason="the threeml-integrated-care plugin is not installed",
            ),
        ),
    ],
)
def test_the_commands_break_down_by_an_extra_column(
    capsys, demo_with_practices: str, command: list[str]
) -> None:
    args = [*command, "--data", demo_with_practices, "--period", "FY2013/14"]
    assert main([*args, "--by", "gp_practice", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    document = found["definitions"][0] if "definitions" in found else found
    groups = {cell["group"] for cell in document["breakdown"]["gp_practice"]}
    assert groups == {f"P{i}" for i in range(7)}


def test_the_report_breaks_down_by_an_extra_column(
    capsys, demo_with_practices: str, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    args = ["report", "--data", demo_with_practices, "--period", "FY2013/14"]
    assert main([*args, "--by", "gp_practice", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert "gp_practice" in json.dumps(results)
    assert "gp_practice" in (out / "report.html").read_text()


def test_a_misspelt_schema_column_is_not_kept_as_an_extra(make_folder: MakeFolder) -> None:
    text = VALID_CSV["users"].replace("risk_score", "risk score")
    dataset = Dataset.from_folder(make_folder(users=text))
    ignored = _unknown_columns(dataset)
    assert "misspelling of risk_score" in ignored["risk score"]
    assert "risk score" not in dataset.table("users").columns

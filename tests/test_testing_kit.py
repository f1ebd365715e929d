"""The plugin author's kit: readable tables, isolated registries, spec cases, conformance.

Also: the pytest plugin is registered and imports cheaply, the strategies moved into
the package without changing, and the example plugin can be copied, renamed and
tested exactly as its README says.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import attrs
import pyarrow as pa
import pytest
import strategies as test_strategies
from hypothesis import HealthCheck, given, settings
from threeml_example import plugin as example_plugin
from threeml_example.spec_cases import SPEC_CASES as EXAMPLE_CASES

import threeml.engine.reference
from threeml import User
from threeml.data import InvalidDataset
from threeml.definitions import (
    CountingDefinition,
    EnrolmentOverlaps,
    HasCondition,
    Measure,
    MemberOf,
    MetricDefinition,
    Query,
)
from threeml.definitions.speccase import SpecCase
from threeml.engine.evaluate import count
from threeml.metrics.measures import Proportion
from threeml.plugins.hookspecs import hookimpl
from threeml.plugins.registry import RegistryConflict, default_registry, load_registry
from threeml.testing import (
    case_reasons,
    check_definition,
    check_plugin,
    check_spec_case,
    conformance,
    format_table,
    isolated_registry,
    make_dataset,
    parse_table,
    plugin_spec_cases,
    spec_case_params,
    spec_cases_of,
)
from threeml.testing import strategies as kit_strategies
from threeml.testing.tables import TableSyntaxError

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "plugins" / "threeml-example"
HEARTBEAT = example_plugin.PENDANT_HEARTBEAT_7D
FEW = settings(
    max_examples=kit_strategies.examples(5),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# Readable tables.


def test_a_table_is_a_header_and_whitespace_separated_rows() -> None:
    columns, rows = parse_table(
        """
        # people in two areas
        user_id area         conditions    risk_score

        u1      "North Kent" copd;diabetes 0.7
        u2      B            -             ""
        """
    )
    assert columns == ("user_id", "area", "conditions", "risk_score")
    assert rows == [("u1", "North Kent", "copd;diabetes", "0.7"), ("u2", "B", None, None)]


def test_a_table_can_be_written_in_markdown() -> None:
    columns, rows = parse_table(
        """
        | user_id | area       | risk_score |
        |---------|:-----------|-----------:|
        | u1      | North Kent | 0.7        |
        | u2      | B          |            |
        """
    )
    assert columns == ("user_id", "area", "risk_score")
    assert rows == [("u1", "North Kent", "0.7"), ("u2", "B", None)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user_id area\nu1 A B\n", r"users, line 2: 3 cell\(s\) for 2 column\(s\).*write -"),
        ("user_id user_id\n", "users, line 1: column user_id appears twice"),
        ("   \n# nothing\n", "users: the table is empty"),
        ('user_id area\nu1 "A\n', "users, line 2: No closing quotation"),
    ],
)
def test_a_malformed_table_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(TableSyntaxError, match=message):
        parse_table(text, "users")


def test_format_table_writes_what_parse_table_reads() -> None:
    rows = [("u1", "North Kent", ("copd", "diabetes"), 0.7), ("u2", "-", None, date(2013, 1, 2))]
    text = format_table(("user_id", "area", "conditions", "x"), rows)
    assert parse_table(text)[1] == [
        ("u1", "North Kent", "copd;diabetes", "0.7"),
        ("u2", "-", None, "2013-01-02"),
    ]


def test_make_dataset_fills_in_services_and_users() -> None:
    dataset = make_dataset(
        enrolments="""
            enrolment_id user_id service_id installed_on
            e1           u2      th         2013-01-10
            e2           u1      tch        2013-01-10
        """,
        contacts="""
            user_id enrolment_id date       kind
            u1      e2           2013-02-01 heartbeat
        """,
    )
    rows = dataset.count_rows()
    assert (rows["users"], rows["services"], rows["enrolments"], rows["contacts"]) == (2, 4, 2, 1)
    users = dataset.table("users").to_pyarrow().to_pylist()
    assert [(u["user_id"], u["area"]) for u in users] == [("u2", "A"), ("u1", "A")]
    services = dataset.table("services").order_by("service_id").to_pyarrow().to_pylist()
    assert [(s["service_id"], s["kind"], s["sector"]) for s in services] == [
        ("tc", "telecare", "social_care"),
        ("tch", "telecare", "housing"),
        ("tco", "telecoaching", "third_sector"),
        ("th", "telehealth", "health"),
    ]
    assert dataset.extract_date == date(2013, 2, 1)


def test_make_dataset_reads_values_as_an_extract_does() -> None:
    dataset = make_dataset(
        users="""
            user_id area  birth_year conditions    risk_score
            u1      Kent  1940       copd;diabetes 0.7
            u2      Kent  -          -             -
        """,
        extract_date="2013-12-31",
    )
    users = dataset.table("users").order_by("user_id").to_pyarrow().to_pylist()
    assert users[0]["conditions"] == ["copd", "diabetes"]
    assert users[0]["risk_score"] == 0.7 and users[0]["birth_year"] == 1940
    assert users[1]["conditions"] == [] and users[1]["risk_score"] is None
    assert dataset.extract_date == date(2013, 12, 31)


def _people(dataset) -> list[tuple]:
    rows = dataset.table("users").order_by("user_id").to_pyarrow().to_pylist()
    return [(r["user_id"], r["area"], tuple(r["conditions"]), r["risk_score"]) for r in rows]


def test_make_dataset_takes_tables_in_several_forms() -> None:
    expected = [("u1", "A", ("copd",), 0.5), ("u2", "B", (), None)]
    forms = [
        "user_id area conditions risk_score\nu1 A copd 0.5\nu2 B - -",
        [
            ("user_id", "area", "conditions", "risk_score"),
            ("u1", "A", ["copd"], 0.5),
            ("u2", "B", None, None),
        ],
        [
            {"user_id": "u1", "area": "A", "conditions": ("copd",), "risk_score": 0.5},
            {"user_id": "u2", "area": "B"},
        ],
        [User("u1", "A", conditions=("copd",), risk_score=0.5), User("u2", "B")],
        pa.table(
            {"user_id": ["u1", "u2"], "area": ["A", "B"], "conditions": [["copd"], []]}
        ).append_column("risk_score", pa.array([0.5, None])),
    ]
    for form in forms:
        assert _people(make_dataset(users=form)) == expected, form


def test_make_dataset_validates_and_lists_every_problem() -> None:
    with pytest.raises(InvalidDataset) as raised:
        make_dataset(
            enrolments="""
                enrolment_id user_id service_id installed_on ended_on
                e1           u1      th         2013-02-30   -
                e2           u1      nowhere    2013-01-01   2012-01-01
            """
        )
    notes = "\n".join(raised.value.__notes__)
    assert "enrolments, row 1, column installed_on" in notes
    assert "'2013-02-30'" in notes
    assert "enrolments, row 2, column service_id" in notes
    assert "row 2" in notes and "ended_on" in notes


def test_make_dataset_can_set_bad_rows_aside() -> None:
    dataset = make_dataset(
        enrolments="enrolment_id user_id service_id installed_on\ne1 u1 th 2013-02-30",
        mode="lenient",
    )
    assert dataset.count_rows()["enrolments"] == 0


def test_a_spec_case_built_by_make_dataset_counts_the_same() -> None:
    case = next(c for c in EXAMPLE_CASES if c.definition == HEARTBEAT.name)
    dataset = make_dataset(
        users=[("user_id", "area", "conditions", "risk_score"), *case.users],
        enrolments=[
            ("enrolment_id", "user_id", "service_id", "referred_on", "installed_on", "ended_on"),
            *case.enrolments,
        ],
        contacts=[("user_id", "enrolment_id", "date", "kind"), *case.contacts],
    )
    assert count(HEARTBEAT, dataset, case.period).members() == case.expected


@FEW
@given(kit_strategies.extracts(max_users=5, with_outcomes=True))
def test_an_extract_written_as_code_builds_the_same_dataset(extract) -> None:
    rebuilt = eval(extract.as_code(), {"make_dataset": make_dataset})
    original = extract.dataset()
    for name in ("users", "services", "enrolments", "contacts", "outcomes", "allocations"):
        mine = rebuilt.table(name).to_pyarrow().to_pylist()
        theirs = original.table(name).to_pyarrow().to_pylist()
        key = sorted if name in ("contacts", "outcomes") else list
        assert key(map(repr, mine)) == key(map(repr, theirs)), name


# The strategies.


def test_the_tests_strategies_are_the_packaged_ones() -> None:
    for name in test_strategies.__all__:
        assert getattr(test_strategies, name) is getattr(kit_strategies, name), name
    assert set(test_strategies.__all__) == set(kit_strategies.__all__)


@FEW
@given(kit_strategies.datasets(max_users=4, with_outcomes=True))
def test_generated_datasets_are_valid_and_have_outcomes_when_asked(dataset) -> None:
    assert dataset.report.errors == 0
    assert dataset.count_rows()["users"] >= 1


# Isolated registries and the fixtures.


def test_an_isolated_registry_holds_only_what_the_test_gives(monkeypatch) -> None:
    assert "in-receipt" in default_registry()
    monkeypatch.setenv("THREEML_DISABLE_PLUGINS", "example")
    assert isolated_registry().names() == ()
    registry = isolated_registry(example_plugin)
    assert registry.names() == (
        "example.heartbeat-steady",
        "example.high-risk-pendants",
        "example.pendant-heartbeat-7d",
        "example.telehealth-referrals",
    )
    extra = attrs.evolve(HEARTBEAT, name="t.heartbeat")
    assert isolated_registry(definitions=[extra]).names() == ("t.heartbeat",)
    assert "in-receipt" in isolated_registry(installed=True)


def test_an_isolated_registry_still_refuses_a_conflict() -> None:
    different = attrs.evolve(HEARTBEAT, title="something else")
    with pytest.raises(RegistryConflict, match=re.escape(HEARTBEAT.name)):
        isolated_registry(example_plugin, definitions=[different])


def test_the_pytest_plugin_is_registered_and_gives_the_fixtures(request) -> None:
    (entry_point,) = [
        ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "threeml"
    ]
    assert entry_point.value == "threeml.testing.pytest_plugin"
    assert request.getfixturevalue("make_dataset") is make_dataset
    assert request.getfixturevalue("threeml_registry") is isolated_registry
    assert request.getfixturevalue("check_spec_case") is check_spec_case
    assert request.getfixturevalue("check_definition") is check_definition


def test_the_pytest_plugin_imports_neither_the_engine_nor_hypothesis() -> None:
    code = (
        "import sys, threeml.testing.pytest_plugin, threeml.testing; "
        "print(sorted(m for m in ('hypothesis', 'ibis', 'duckdb', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# Spec cases.


@pytest.mark.parametrize("case", spec_case_params(EXAMPLE_CASES))
def test_the_example_cases_hold(case: SpecCase) -> None:
    result = check_spec_case(case, registry=isolated_registry(example_plugin))
    assert result.members() == case.expected


def test_spec_case_params_are_named_after_the_case() -> None:
    (param, *_) = spec_case_params(EXAMPLE_CASES)
    assert param.id == f"{EXAMPLE_CASES[0].definition}: {EXAMPLE_CASES[0].title}"


def test_a_wrong_spec_case_says_who_and_why() -> None:
    case = attrs.evolve(EXAMPLE_CASES[0], expected={"u1", "u2"})
    with pytest.raises(AssertionError) as raised:
        check_spec_case(case, registry=isolated_registry(example_plugin))
    message = str(raised.value)
    assert "expected u1, u2 to count" in message
    assert "the engine counts u1, u6" in message
    assert "the reference evaluator counts u1, u6" in message
    assert "u2 fails criterion 2 (at least 1 counting heartbeat contact" in message
    assert "0 counting contact(s) (needs 1)" in message
    assert "u6 passes every criterion" in message


def test_case_reasons_give_the_first_failed_criterion() -> None:
    reasons = {r.unit: r for r in case_reasons(EXAMPLE_CASES[0], HEARTBEAT)}
    assert reasons["u1"].counted and reasons["u1"].criterion is None
    assert (reasons["u4"].counted, reasons["u4"].criterion) == (False, 1)
    assert reasons["u4"].describe == HEARTBEAT.criteria[0].describe()


def test_plugins_offer_spec_cases_by_convention() -> None:
    assert spec_cases_of(example_plugin) == EXAMPLE_CASES
    assert spec_cases_of(object()) == ()
    found = plugin_spec_cases(load_registry(environ={}))
    assert found[HEARTBEAT.name] == (EXAMPLE_CASES[0],)
    counting = importlib.import_module("threeml_counting.spec_cases").SPEC_CASES
    assert {name for name, cases in found.items() if set(cases) <= set(counting)} >= {
        case.definition for case in counting
    }


# Conformance.


def test_the_example_definitions_conform() -> None:
    for definition in example_plugin.threeml_counting_definitions():
        check_definition(definition, examples=3, spec_cases=EXAMPLE_CASES[:0])


def test_the_standard_definitions_conform() -> None:
    standard = importlib.import_module("threeml_counting").STANDARD
    from threeml.testing import check_definitions

    check_definitions(standard, examples=4)


@pytest.fixture(autouse=True)
def _short_shrinking(monkeypatch) -> None:
    """Failures here are expected: shrink them briefly."""
    monkeypatch.setattr(conformance, "SHRINK_BUDGET", 5)


def _message(definition, **options) -> str:
    with pytest.raises(AssertionError) as raised:
        check_definition(definition, **options)
    return str(raised.value)


def test_an_undocumented_definition_fails_with_every_omission() -> None:
    bad = attrs.evolve(
        HEARTBEAT,
        title=" ",
        origin="",
        criteria=(*HEARTBEAT.criteria, HEARTBEAT.criteria[0], Query(len, "")),
    )
    message = _message(bad, examples=1)
    assert message.startswith("example.pendant-heartbeat-7d: not documented well enough:")
    assert "- title is empty" in message
    assert "- origin is empty" in message
    assert "- criterion 3 (EnrolmentOverlaps) repeats criterion 1" in message
    assert "- criterion 4 (Query) does not describe itself in words" in message


def test_a_definition_that_does_not_round_trip_fails() -> None:
    message = _message(attrs.evolve(HEARTBEAT, parameters={"days": None}), examples=1)
    assert "does not survive serialisation" in message
    assert "parameters changes in a JSON round trip: {'days': None} is read back as {}" in message
    assert "TOML" in message


def test_a_disagreement_with_the_reference_is_shown_on_a_small_dataset(monkeypatch) -> None:
    original = threeml.engine.reference.reference_count

    def wrong(definition, data, period, resolve=None, **kinds):
        """The reference evaluator, but it never counts u02."""
        result = original(definition, data, period, resolve, **kinds)
        outcomes = dict(result.outcomes)
        if "u02" in result.members:
            outcomes["u02"] = (threeml.engine.reference.Outcome(False, "made up"),)
        return attrs.evolve(result, outcomes=outcomes)

    monkeypatch.setattr(threeml.engine.reference, "reference_count", wrong)
    everyone = CountingDefinition(
        name="t.everyone",
        version="1",
        title="Everyone enrolled",
        description="Anyone with an installed window overlapping the period.",
        origin="a test",
        criteria=[EnrolmentOverlaps()],
    )
    message = _message(everyone, examples=30)
    assert message.startswith("t.everyone: the engine and the reference evaluator disagree:")
    assert "who counts differs: only the engine counts u02" in message
    assert "the reference evaluator leaves u02 out at criterion 1" in message
    assert "first failed criterion of u02: engine None, reference evaluator 1" in message
    code = message[message.index("make_dataset(") :]
    dataset = eval(code, {"make_dataset": make_dataset})
    period = re.search(r'on the period "([^"]+)"', message).group(1)
    assert "u02" in count(everyone, dataset, period).members()


def exploding(tables, period):
    """A query criterion's function that fails on any data with a contact."""
    contacts = tables["contacts"]
    if contacts.count().execute():
        raise RuntimeError("cannot handle contacts")
    return tables["users"].select("user_id")


def test_a_definition_that_cannot_be_evaluated_fails_with_the_dataset() -> None:
    definition = CountingDefinition(
        name="t.exploding",
        version="1",
        title="Explodes",
        description="A query that raises.",
        origin="a test",
        criteria=[Query(exploding, "whatever the query says")],
    )
    message = _message(definition, examples=10)
    assert message.startswith("t.exploding: the engine raised EvaluationError: query criterion")
    assert "cannot handle contacts" in message
    assert "contacts=" in message


def test_member_of_is_resolved_in_the_registry_given() -> None:
    definition = CountingDefinition(
        name="t.heartbeat-with-copd",
        version="1",
        title="Pendant users with COPD",
        description="Counted by the pendant heartbeat definition, and has COPD.",
        origin="a test",
        criteria=[MemberOf(HEARTBEAT.name), HasCondition({"copd"})],
    )
    check_definition(definition, examples=3, registry=isolated_registry(example_plugin))
    with pytest.raises(AssertionError, match=r"no counting definition named 't\.nothing'"):
        check_definition(
            attrs.evolve(definition, criteria=[MemberOf("t.nothing")]),
            examples=1,
            registry=isolated_registry(example_plugin),
        )


class NanShare(Proportion):
    """A broken measure kind: a proportion whose value is always NaN."""

    kind = "nan-share"

    def evaluate(self, context):
        return attrs.evolve(super().evaluate(context), value=float("nan"))


def _metric(kind: str) -> MetricDefinition:
    return MetricDefinition(
        name=f"t.{kind}",
        version="1",
        title="Share of pendant users referred to telehealth",
        description="Of the people with a pendant heartbeat, the share referred to telehealth.",
        origin="a test",
        population=HEARTBEAT.name,
        measure=Measure(kind, {"numerator": "example.telehealth-referrals"}),
    )


def test_a_metric_is_evaluated_and_published() -> None:
    check_definition(_metric("proportion"), examples=3, registry=isolated_registry(example_plugin))


def test_a_metric_giving_nan_fails() -> None:
    registry = isolated_registry(example_plugin, measure_kinds=[NanShare()])
    message = _message(_metric("nan-share"), examples=3, registry=registry)
    assert message.startswith("t.nan-share: its result is not sound:")
    assert "value of the total is NaN (give None, and a reason)" in message


class _Plugins:
    """Small plugin objects, each broken in one way."""

    class Silent:
        @hookimpl
        def threeml_counting_definitions(self):
            return None

    class Empty:
        @hookimpl
        def threeml_counting_definitions(self):
            return []

    class StrangeCases:
        SPEC_CASES = (attrs.evolve(EXAMPLE_CASES[1], definition="t.unknown"),)

        @hookimpl
        def threeml_counting_definitions(self):
            return [HEARTBEAT]


def test_check_plugin_checks_a_module_and_returns_its_registry() -> None:
    registry = check_plugin(example_plugin, examples=2)
    assert set(registry.names()) == {d.name for d in example_plugin.threeml_counting_definitions()}


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (("silent", _Plugins.Silent()), "plugin 'silent' failed to load: threeml_counting_"),
        (("empty", _Plugins.Empty()), "plugin 'empty' supplies no definitions"),
        (
            ("strange", _Plugins.StrangeCases()),
            "plugin 'strange': SPEC_CASES name definitions that are not registered: t.unknown",
        ),
    ],
)
def test_check_plugin_says_what_is_wrong_with_a_plugin(plugin, message: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_plugin(plugin, examples=1)


def test_check_plugin_takes_a_registry() -> None:
    registry = isolated_registry(example_plugin)
    assert check_plugin(registry, examples=2) is registry


# The template: copied, renamed and tested as its README says.


def _copy_commands() -> list[str]:
    """The shell commands of the README's "Copy it for your own plugin" block."""
    text = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Copy it for your own plugin") :]
    block = section[section.index("```bash") + len("```bash") : section.index("```\n", 10)]
    return block.strip().replace("\\\n", " ").splitlines()


def _install(project: Path, site: Path) -> dict[str, str]:
    """What ``pip install -e`` records, written by hand from the copy's ``pyproject.toml``.

    A ``.dist-info`` folder with the distribution's name, version and entry points, on
    a path of its own, and the copy's ``src`` on the path (as an editable install puts
    it): the real environment is left alone.
    """
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    packages = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "hatch"
    ]["build"]["targets"]["wheel"]["packages"]
    for package in packages:
        assert (project / package).is_dir(), f"pyproject.toml names a missing package {package}"
    name = meta["name"]
    info = site / f"{name.replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {meta['version']}\n", encoding="utf-8"
    )
    lines = []
    for group, entries in meta.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines.extend(f"{key} = {value}" for key, value in entries.items())
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"name": name, "src": str(project / "src"), "site": str(site)}


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The template copied to ``threeml-acme`` and renamed by the README's own commands."""
    if subprocess.run(["sed", "--version"], capture_output=True, check=False).returncode:
        pytest.skip("the README's rename uses GNU sed")
    where = tmp_path_factory.mktemp("copy")
    target = where / "threeml-acme"
    commands = []
    for line in _copy_commands():
        if line.startswith(("python -m pip", "python -m pytest")):
            continue  # installed and run below, without touching the environment
        commands.append(
            line.replace("plugins/threeml-example", str(TEMPLATE)).replace(
                "../threeml-acme", str(target)
            )
        )
    assert any(c.startswith("sed -i") for c in commands), commands
    subprocess.run(["bash", "-e", "-c", "\n".join(commands)], cwd=ROOT, check=True)
    return {"root": str(target), **_install(target, where / "site")}


def test_the_copy_is_renamed_throughout(acme: dict[str, str]) -> None:
    root = Path(acme["root"])
    assert not (root / "src" / "threeml_example").exists()
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".toml"):
            text = path.read_text(encoding="utf-8")
            assert "threeml_example" not in text and "threeml-example" not in text, path
            assert '"example.' not in text, path
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == "threeml-acme"
    assert pyproject["project"]["entry-points"]["threeml"] == {"acme": "threeml_acme.plugin"}


def test_the_renamed_copy_imports_and_supplies_conforming_definitions(acme) -> None:
    sys.path.insert(0, acme["src"])
    try:
        module = importlib.import_module("threeml_acme.plugin")
        names = [d.name for d in module.threeml_counting_definitions()]
        assert names == [
            "acme.heartbeat-steady",
            "acme.pendant-heartbeat-7d",
            "acme.high-risk-pendants",  # its member-of names acme.pendant-heartbeat-7d
            "acme.telehealth-referrals",
        ]
        assert {c.definition for c in module.SPEC_CASES} == set(names)
        registry = load_registry(entry_points=[], environ={}, extra_plugins=[("acme", module)])
        assert registry.names() == tuple(sorted(names))
        assert registry.counting(names[0]).source.plugin == "acme"
        for definition in registry.definitions():
            check_definition(definition, examples=2, registry=registry)
    finally:
        sys.path.remove(acme["src"])
        for name in [
            m for m in sys.modules if m == "threeml_acme" or m.startswith("threeml_acme.")
        ]:
            del sys.modules[name]


def test_the_renamed_copy_passes_its_own_tests_once_installed(acme) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("THREEML_DISABLE_PLUGINS", "THREEML_NO_PLUGINS")
    }
    environment["THREEML_HYPOTHESIS_SCALE"] = "0.3"  # the conformance check is tested above
    environment["PYTHONPATH"] = os.pathsep.join(
        [acme["site"], acme["src"], environment.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=acme["root"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b25 passed\b", result.stdout), result.stdout[-1000:]

"""What a third-party plugin author meets first (issue 16): broken plugins named everywhere,
versions and descriptions checked, standard definitions keep their source, clashes diagnosed."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from threeml.cli import main
from threeml.data import Dataset
from threeml.definitions import (
    CountingDefinition,
    DefinitionFileError,
    EnrolmentOverlaps,
    Source,
    load_definition,
)
from threeml.plugins import loading
from threeml.plugins.hookspecs import hookimpl
from threeml.plugins.registry import (
    UnknownDefinition,
    load_registry,
    reset_default_registry,
)
from threeml.publish.disclosure import DEFAULT_POLICY
from threeml.report import build_report, publish
from threeml.report.fhir import to_measure_report_json
from threeml.report.html import to_html
from threeml.report.tables import to_csv, to_json


@attrs.frozen
class Dist:
    name: str
    version: str


@attrs.frozen
class EntryPoint:
    name: str
    target: object
    dist: Dist
    value: str = "acme_threeml.plugin"
    group: str = "threeml"

    def load(self) -> object:
        if isinstance(self.target, BaseException):
            raise self.target
        return self.target


def definition(name: str, **changes: object) -> CountingDefinition:
    fields = {
        "name": name,
        "version": "1",
        "title": f"Title of {name}",
        "description": f"Description of {name}.",
        "criteria": [EnrolmentOverlaps(service_kinds={"telecare"})],
    }
    return CountingDefinition(**{**fields, **changes})


def supplying(*made: object) -> object:
    return types.SimpleNamespace(threeml_counting_definitions=hookimpl(lambda: list(made)))


BROKEN = EntryPoint("acme", ImportError("No module named 'acme_secrets'"), Dist("acme-care", "2.0"))


@pytest.fixture
def broken_default(monkeypatch) -> Iterator[None]:
    """The default registry holds the installed plugins and one that cannot be imported."""
    import importlib.metadata

    installed = list(importlib.metadata.entry_points(group="threeml"))
    real = loading.load_registry
    monkeypatch.setattr(
        loading,
        "load_registry",
        lambda **kw: real(entry_points=[*installed, BROKEN], environ={}, **kw),
    )
    reset_default_registry()
    yield
    reset_default_registry()


# Versions and descriptions.


@pytest.mark.parametrize(
    ("version", "shown"),
    [("", "''"), (True, "True"), (1.10, "1.1"), ("   ", "'   '")],
)
def test_a_bad_version_is_refused_naming_the_definition(version, shown) -> None:
    with pytest.raises(ValueError, match=r"definition 'acme\.alarms' has version") as raised:
        definition("acme.alarms", version=version)
    assert shown in str(raised.value)
    assert 'version = "1.10"' in str(raised.value)  # says what to write


def test_a_whole_number_version_reads_as_text() -> None:
    assert definition("acme.alarms", version=2).version == "2"


def test_an_empty_description_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'acme\.alarms' has description"):
        definition("acme.alarms", description=" \n")


def test_a_plugin_with_a_bad_version_is_named_with_its_definition() -> None:
    def made() -> list:
        return [definition("acme.alarms", version="")]

    plugin = types.SimpleNamespace(threeml_counting_definitions=hookimpl(made))
    registry = load_registry(
        entry_points=[EntryPoint("acme", plugin, Dist("acme-care", "2.0"))], environ={}
    )
    (failure,) = registry.failures
    assert "plugin 'acme' (acme-care 2.0)" in failure.describe()
    assert "'acme.alarms' has version ''" in failure.describe()


def test_a_definition_file_with_a_float_version_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "alarms.toml"
    path.write_text(
        'type = "counting"\nname = "acme.alarms"\nversion = 1.10\ntitle = "Alarms"\n'
        'description = "Alarms."\n[[criteria]]\nkind = "enrolment-overlaps"\n',
        encoding="utf-8",
    )
    with pytest.raises(DefinitionFileError) as raised:
        load_definition(path)
    assert "alarms.toml" in str(raised.value) and "1.1" in str(raised.value)


# Sources of identical copies, and clashes.


def test_an_identical_copy_of_a_standard_definition_does_not_become_its_source() -> None:
    standard = definition("in-receipt")
    registry = load_registry(
        entry_points=[
            EntryPoint("aardvark", supplying(standard), Dist("aardvark-extras", "9")),
            EntryPoint("counting", supplying(standard), Dist("threeml-counting", "1.0")),
        ],
        environ={},
    )
    assert registry.counting("in-receipt").source == Source("counting", "threeml-counting", "1.0")
    assert registry.sources("in-receipt")[1].distribution == "aardvark-extras"


def test_a_clash_stops_definitions_but_plugins_shows_it_naming_both(monkeypatch, capsys) -> None:
    entry_points = [
        EntryPoint("acme", supplying(definition("shared.alarms")), Dist("acme-care", "2.0")),
        EntryPoint(
            "bravo",
            supplying(definition("shared.alarms", title="Other", version="3")),
            Dist("bravo-care", "0.9"),
        ),
    ]
    monkeypatch.setattr(
        loading, "load_registry", lambda **kw: load_registry(entry_points=entry_points, **kw)
    )
    monkeypatch.setattr(
        "threeml.cli.plugins.load_registry",
        lambda **kw: load_registry(entry_points=entry_points, environ={}, **kw),
    )
    reset_default_registry()
    try:
        assert main(["definitions"]) == 2
        assert "acme-care 2.0" in capsys.readouterr().err
        assert main(["plugins", "--format", "json"]) == 0
        (problem,) = json.loads(capsys.readouterr().out)["problems"]
        assert "acme-care 2.0" in problem and "bravo-care 0.9" in problem
        assert main(["plugins"]) == 0
        out = capsys.readouterr().out
        assert "bravo-care" in out and "shared.alarms" in out
    finally:
        reset_default_registry()


# Broken plugins are named first and everywhere.


def test_asking_for_a_broken_plugins_definition_names_the_failure_first() -> None:
    registry = load_registry(
        entry_points=[
            BROKEN,
            EntryPoint("bravo", supplying(definition("bravo.alarms")), Dist("bravo-care", "1")),
        ],
        environ={},
    )
    with pytest.raises(UnknownDefinition) as raised:
        registry.counting("acme.alarms")
    message = str(raised.value)
    assert "plugin 'acme' (acme-care 2.0)" in message
    assert "acme_secrets" in message
    assert message.index("failed to load") < message.index("did you mean 'bravo.alarms'")


@pytest.mark.usefixtures("broken_default")
@pytest.mark.parametrize(
    "argv",
    [["definitions"], ["definitions", "in-receipt"], ["definitions", "acme.alarms"]],
)
def test_every_command_names_the_broken_plugin(argv, capsys) -> None:
    main(argv)
    err = capsys.readouterr().err
    assert "plugin 'acme' (acme-care 2.0)" in err
    assert "acme_secrets" in err


@pytest.mark.usefixtures("broken_default")
def test_compare_names_the_broken_plugin(make_folder, capsys) -> None:
    folder = make_folder()
    assert main(["compare", "in-receipt", "--data", str(folder), "--period", "2013"]) == 0
    assert "plugin 'acme' (acme-care 2.0)" in capsys.readouterr().err


def test_every_report_file_names_the_broken_plugin(make_folder) -> None:
    import importlib.metadata

    installed = list(importlib.metadata.entry_points(group="threeml"))
    registry = load_registry(entry_points=[*installed, BROKEN], environ={})
    report = build_report(
        Dataset.from_folder(make_folder()),
        "2013",
        registry=registry,
        definitions=[registry.counting("in-receipt")],
        metrics=[],
        over_time=False,
    )
    data = publish(report, DEFAULT_POLICY)
    for text in (to_json(data), to_csv(data), to_html(data), to_measure_report_json(data)):
        assert "acme-care 2.0" in text
        assert "acme_secrets" in text

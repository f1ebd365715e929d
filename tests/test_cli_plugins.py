"""``threeml plugins`` and ``threeml definitions`` against the installed example plugin."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator

import pytest

from threeml.cli import main
from threeml.definitions import from_toml
from threeml.plugins.hookspecs import hookimpl
from threeml.plugins.registry import default_registry, load_registry, reset_default_registry

PENDANT = "example.pendant-heartbeat-7d"
REFERRALS = "example.telehealth-referrals"


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch) -> Iterator[None]:
    """Each test sees the installed plugins under its own environment, built afresh."""
    monkeypatch.delenv("THREEML_NO_PLUGINS", raising=False)
    monkeypatch.delenv("THREEML_DISABLE_PLUGINS", raising=False)
    reset_default_registry()
    yield
    reset_default_registry()


def test_plugins_lists_the_example_plugin_and_its_definitions(capsys) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "example" in out
    assert "threeml-example" in out
    assert default_registry().counting(PENDANT).source.version in out
    assert PENDANT in out
    assert REFERRALS in out


def test_plugins_as_json(capsys) -> None:
    assert main(["plugins", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (example,) = [p for p in data["plugins"] if p["name"] == "example"]
    assert example["distribution"] == "threeml-example"
    assert example["entry_point"] == "threeml_example.plugin"
    assert {PENDANT, REFERRALS} <= set(example["counting"])
    assert data["failures"] == []


def test_plugins_lists_failures_with_name_distribution_and_error(monkeypatch, capsys) -> None:
    def explode() -> list:
        raise RuntimeError("cannot reach the licence server")

    broken = types.SimpleNamespace(threeml_counting_definitions=hookimpl(explode))
    registry = load_registry(environ={}, extra_plugins=[("broken", broken)])
    monkeypatch.setattr("threeml.cli.plugins.default_registry", lambda: registry)
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "failed to load" in out
    assert "broken" in out
    assert "cannot reach the licence server" in out
    assert main(["plugins", "--format", "json"]) == 0
    (failure,) = json.loads(capsys.readouterr().out)["failures"]
    assert failure["name"] == "broken"
    assert "RuntimeError: cannot reach the licence server" in failure["error"]


def test_plugins_with_the_example_disabled(monkeypatch, capsys) -> None:
    monkeypatch.setenv("THREEML_DISABLE_PLUGINS", "example,exampel")
    assert main(["plugins"]) == 0
    captured = capsys.readouterr()
    assert PENDANT not in captured.out
    assert "Switched off by THREEML_DISABLE_PLUGINS: example" in captured.out
    assert "'exampel', which is not an installed plugin" in captured.err


def test_plugins_with_no_plugins(monkeypatch, capsys) -> None:
    monkeypatch.setenv("THREEML_NO_PLUGINS", "1")
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "THREEML_NO_PLUGINS is set" in out
    assert "threeml-example" not in out


def test_definitions_lists_the_catalogue(capsys) -> None:
    assert main(["definitions"]) == 0
    out = capsys.readouterr().out
    assert PENDANT in out
    assert REFERRALS in out
    assert "users" in out


def test_definitions_catalogue_as_json(capsys) -> None:
    assert main(["definitions", "--format", "json"]) == 0
    data = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    assert data[PENDANT]["sources"][0]["distribution"] == "threeml-example"
    assert data[REFERRALS]["criteria"] == [{"kind": "referred-in", "service_kinds": ["telehealth"]}]


def test_definition_shows_its_criteria_in_order_and_its_source(capsys) -> None:
    assert main(["definitions", PENDANT]) == 0
    out = capsys.readouterr().out
    first = out.index("1. has a telecare enrolment whose installed window overlaps the period")
    second = out.index("2. at least 1 counting heartbeat contact on telecare enrolments")
    assert first < second
    assert "last 7 days" in out
    assert "We supply pendant alarms" in out
    assert "parameters: days = 7" in out
    assert "source: threeml-example" in out
    assert "plugin example" in out


def test_definition_as_toml_loads_back_equal(capsys) -> None:
    assert main(["definitions", REFERRALS, "--format", "toml"]) == 0
    assert from_toml(capsys.readouterr().out) == default_registry().counting(REFERRALS)


def test_unknown_definition_suggests_the_close_name_on_one_line(capsys) -> None:
    assert main(["definitions", "example.pendant-heartbeat-7"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "no definition named 'example.pendant-heartbeat-7'" in captured.err
    assert f"did you mean '{PENDANT}'" in captured.err


def test_toml_without_a_name_is_a_usage_error(capsys) -> None:
    assert main(["definitions", "--format", "toml"]) == 2
    assert "give its NAME" in capsys.readouterr().err


def test_registry_conflict_stops_definitions_but_plugins_shows_it(monkeypatch, capsys) -> None:
    from threeml.plugins.registry import RegistryConflict

    def conflicting():
        raise RegistryConflict("two different definitions are named 'x'")

    monkeypatch.setattr("threeml.cli.plugins.default_registry", conflicting)
    assert main(["definitions", "x"]) == 2
    assert capsys.readouterr().err == "error: two different definitions are named 'x'\n"
    assert main(["plugins"]) == 0  # the command that diagnoses a clash still runs

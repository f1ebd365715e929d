"""The test kit for plugin authors: the policy check, and a quiet test run outside threeml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from threeml.definitions.policies import BUILTIN_POLICIES, DisclosurePolicy
from threeml.plugins.hookspecs import hookimpl
from threeml.testing import check_policy, isolated_registry


@pytest.mark.parametrize("name", sorted(BUILTIN_POLICIES))
def test_every_builtin_policy_passes(name: str) -> None:
    check_policy(BUILTIN_POLICIES[name])


class LeakySmallCells(DisclosurePolicy):
    def apply(self, count: int) -> int | None:
        return count  # never suppresses


class NoSecondary(DisclosurePolicy):
    def apply_breakdown(self, counts, keys=None):  # type: ignore[no-untyped-def]
        return [self.apply(c) for c in counts]


class RoundsTooFar(DisclosurePolicy):
    def apply(self, count: int) -> int | None:
        value = super().apply(count)
        return value if not value else value + 20


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        (LeakySmallCells("leaky"), "publishes 1, which its threshold suppresses"),
        (NoSecondary("lonely"), "suppresses exactly one cell"),
        (RoundsTooFar("far"), "more than 2 away"),
        (DisclosurePolicy("custom-ish"), "not starting 'custom'"),
    ],
)
def test_a_policy_breaking_a_rule_is_named_with_the_problem(policy, problem) -> None:
    with pytest.raises(AssertionError) as raised:
        check_policy(policy)
    assert f"disclosure policy {policy.name!r}" in str(raised.value)
    assert problem in str(raised.value)


def test_the_registry_must_hold_the_policy_under_its_name() -> None:
    mine = DisclosurePolicy("acme-strict", threshold=10, rounding=5)

    class Plugin:
        @hookimpl
        def threeml_disclosure_policies(self) -> list:
            return [attrs.evolve(mine, threshold=9)]

    with pytest.raises(AssertionError, match="a different policy"):
        check_policy(mine, registry=isolated_registry(Plugin()))
    check_policy(mine, registry=isolated_registry(type("Same", (), {
        "threeml_disclosure_policies": hookimpl(lambda self: [mine])})()))  # fmt: skip


def test_an_external_plugins_test_run_shows_no_dependency_deprecations(tmp_path: Path) -> None:
    """A plugin's own tests (no threeml configuration) evaluating a definition stay quiet."""
    (tmp_path / "test_plugin.py").write_text(
        "def test_counts(make_dataset):\n"
        "    from threeml.engine.evaluate import count\n"
        "    from threeml.plugins.registry import default_registry\n"
        "    registry = default_registry()\n"
        "    data = make_dataset(\n"
        "        users='user_id area\\nU1 Kent',\n"
        "        services='service_id kind sector area\\nS1 telecare social_care Kent',\n"
        "        enrolments='enrolment_id user_id service_id installed_on\\nE1 U1 S1 2013-01-01',\n"
        "    )\n"
        "    assert count(registry.counting('in-receipt'), data, '2013',"
        " registry=registry).count == 1\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert "warning" not in done.stdout.lower(), done.stdout

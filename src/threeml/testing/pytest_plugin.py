"""threeml's pytest plugin: fixtures for testing definitions and plugins.

Installed with threeml and registered as the ``threeml`` entry point of the
``pytest11`` group, so every pytest run in an environment with threeml has
these fixtures, with nothing to configure:

``make_dataset``
    :func:`threeml.testing.make_dataset`: a validated dataset from readable tables.
``threeml_registry``
    :func:`threeml.testing.isolated_registry`: a registry of only the plugins and
    definitions the test gives, whatever is installed.
``check_spec_case``
    :func:`threeml.testing.check_spec_case`: assert a worked example counts exactly
    its expected members, on the engine and the reference evaluator.
``check_definition``
    :func:`threeml.testing.check_definition`: the conformance check (needs Hypothesis).
``check_policy``
    :func:`threeml.testing.check_policy`: the check for a disclosure policy.

It also filters the deprecation warnings raised inside threeml's dependencies
(:data:`DEPENDENCY_WARNINGS`), so a plugin's test run shows only its own warnings.

Importing this module imports nothing but pytest: threeml's engine, and Hypothesis,
are only imported when a test asks for a fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

#: Deprecation warnings raised inside threeml's dependencies (ibis calling DuckDB's and
#: pandas' deprecated names), which a plugin's tests cannot act on: filtered in every test run
#: that has threeml installed, as threeml filters them in its own configuration.
DEPENDENCY_WARNINGS = (
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning",
    "ignore:The 'future.infer_string' option is deprecated",
)


def pytest_configure(config: pytest.Config) -> None:
    """Filter the dependency deprecations (:data:`DEPENDENCY_WARNINGS`) for every test."""
    for line in DEPENDENCY_WARNINGS:
        config.addinivalue_line("filterwarnings", line)


@pytest.fixture
def make_dataset() -> Callable[..., Any]:
    """Build a validated dataset from readable tables: ``make_dataset(users="...", ...)``."""
    from threeml.testing.tables import make_dataset as function

    return function


@pytest.fixture
def threeml_registry() -> Callable[..., Any]:
    """Build an isolated registry: ``threeml_registry(plugin, definitions=[...])``."""
    from threeml.testing.registries import isolated_registry

    return isolated_registry


@pytest.fixture
def check_spec_case() -> Callable[..., Any]:
    """Assert a spec case: ``check_spec_case(case, registry=...)`` returns the engine's result."""
    from threeml.testing.speccases import check_spec_case as function

    return function


@pytest.fixture
def check_definition() -> Callable[..., None]:
    """The conformance check: ``check_definition(definition, examples=..., registry=...)``."""
    from threeml.testing.conformance import check_definition as function

    return function


@pytest.fixture
def check_policy() -> Callable[..., None]:
    """The disclosure-policy check: ``check_policy(policy, registry=...)``."""
    from threeml.testing.policies import check_policy as function

    return function

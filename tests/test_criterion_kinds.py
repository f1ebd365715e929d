"""Criterion kinds as an extension point: handlers per kind in both evaluators, and plugin kinds.

A small plugin kind defined here ("born before a year") is registered the way any plugin's is,
and must then work wherever threeml's own kinds do: in the engine and the reference evaluator,
inside ``member-of``, in definition files. Without its plugin both evaluators refuse it by name.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import pytest
from attrs import field, frozen

from threeml.definitions import (
    CRITERIA,
    CountingDefinition,
    Criterion,
    DefinitionFileError,
    EnrolmentOverlaps,
    MemberOf,
    from_toml,
    to_toml,
)
from threeml.definitions.kinds import CriterionKind, criterion_classes, plugin_kinds
from threeml.engine.compiler import Compiler
from threeml.engine.criteria import HANDLERS
from threeml.engine.errors import EvaluationError, UnhandledCriterionKind
from threeml.engine.evaluate import count, count_many
from threeml.engine.reference import ReferenceData, reference_count
from threeml.engine.reference_criteria import REFERENCE_HANDLERS
from threeml.plugins.hookspecs import hookimpl
from threeml.records.periods import Period
from threeml.testing import isolated_registry, make_dataset

PERIOD = "2013"


@frozen
class BornBefore(Criterion):
    """Born before ``year`` (a user without a birth year fails)."""

    kind: ClassVar[str] = "t.born-before"

    year: int = field()

    def describe(self) -> str:
        return f"born before {self.year}"


def _compile(criterion: BornBefore, compiler: Compiler):
    users = compiler.users
    return users.filter(users.birth_year < criterion.year).select("user_id")


def _reference(criterion: BornBefore, data, period, user_id):
    born = data.users[user_id]["birth_year"]
    return born is not None and born < criterion.year, f"born in {born}"


BORN_BEFORE = CriterionKind(BornBefore, compile=_compile, reference=_reference)


class Plugin:
    @hookimpl
    def threeml_criterion_kinds(self):
        return [BORN_BEFORE]


def _definition(name: str, *criteria: Criterion, unit: str = "users") -> CountingDefinition:
    return CountingDefinition(
        name=name, version="1", title=name, description=name, criteria=criteria, unit=unit
    )


OLDER = _definition("t.older", EnrolmentOverlaps(), BornBefore(1940))
ENROLMENTS = _definition(
    "t.older-enrolments", EnrolmentOverlaps(), BornBefore(1940), unit="enrolments"
)
OUTER = _definition("t.outer", MemberOf("t.older"))


@pytest.fixture(scope="module")
def registry():
    return isolated_registry(("t", Plugin()), definitions=[OLDER, ENROLMENTS, OUTER])


@pytest.fixture(scope="module")
def dataset():
    return make_dataset(
        users="""
            user_id area birth_year
            u1      A    1930
            u2      A    1950
            u3      B    -
            u4      B    1935
        """,
        enrolments="""
            enrolment_id user_id service_id installed_on
            e1           u1      tc         2012-06-01
            e1b          u1      th         2013-02-01
            e2           u2      tc         2012-06-01
            e3           u3      tc         2012-06-01
        """,
    )


def test_every_one_of_threeml_s_kinds_has_a_handler_in_both_evaluators() -> None:
    assert set(HANDLERS) == set(CRITERIA.values())
    assert set(REFERENCE_HANDLERS) == set(CRITERIA.values())


def test_a_plugin_kind_counts_alike_in_both_evaluators(registry, dataset) -> None:
    results = count_many([OLDER, ENROLMENTS, OUTER], dataset, PERIOD, registry=registry)
    data = ReferenceData.from_dataset(dataset)
    kinds = plugin_kinds(registry)
    assert list(kinds) == ["t.born-before"]
    for definition in (OLDER, ENROLMENTS, OUTER):
        ref = reference_count(
            definition, data, Period.parse(PERIOD), registry.counting, kinds=kinds
        )
        assert results[definition.name].members() == ref.members
        assert [s.remaining for s in results[definition.name].attrition] == ref.sequential()
    assert results[OLDER.name].members() == {"u1"}
    assert results[ENROLMENTS.name].members() == {"e1", "e1b"}  # an enrolment passes as its user
    assert results[OUTER.name].members() == {"u1"}  # member-of carries the kinds along
    assert results[OLDER.name].records == 2  # the enrolment criterion's records, both of u1's


def test_without_its_plugin_both_evaluators_name_the_kind(dataset) -> None:
    for evaluate in (
        lambda: count(OLDER, dataset, PERIOD),
        lambda: reference_count(OLDER, ReferenceData.from_dataset(dataset), Period.parse(PERIOD)),
    ):
        with pytest.raises(UnhandledCriterionKind) as caught:
            evaluate()
        assert caught.value.kind == "t.born-before"
        assert caught.value.owner == f"{__name__}.BornBefore"
        assert "enrolment-overlaps" in caught.value.installed
        assert "threeml_criterion_kinds" in str(caught.value)
        assert isinstance(caught.value, EvaluationError)


def test_a_failing_compilation_names_the_kind(dataset) -> None:
    def broken(criterion, compiler):
        raise RuntimeError("no such column")

    kind = attrs.evolve(BORN_BEFORE, compile=broken)
    with pytest.raises(EvaluationError, match=r"'t.born-before'.*born before 1940.*no such column"):
        count(OLDER, dataset, PERIOD, registry=isolated_registry(("t", _Kinds(kind))))


class _Kinds:
    def __init__(self, *kinds: CriterionKind) -> None:
        self.kinds = kinds

    @hookimpl
    def threeml_criterion_kinds(self):
        return list(self.kinds)


def test_the_registry_s_built_in_kinds_compile_through_the_engine(registry, dataset) -> None:
    compiler = Compiler(dataset, Period.parse(PERIOD))
    criterion = EnrolmentOverlaps(service_kinds={"telehealth"})
    kind = registry.criterion_kind("enrolment-overlaps")
    users = kind.compile(criterion, compiler).to_pyarrow().column("user_id").to_pylist()
    assert users == ["u1"]
    data = ReferenceData.from_dataset(dataset)
    assert kind.reference(criterion, data, Period.parse(PERIOD), "u1")[0] is True
    assert kind.reference(criterion, data, Period.parse(PERIOD), "u2")[0] is False


def test_a_plugin_kind_is_read_from_a_file_only_where_it_is_installed(registry) -> None:
    text = to_toml(OLDER)
    assert 'kind = "t.born-before"' in text
    assert from_toml(text, criteria=criterion_classes(registry)) == OLDER
    with pytest.raises(
        DefinitionFileError, match=r"unknown criterion kind 't.born-before'.*plugin"
    ):
        from_toml(text, "older.toml")


def test_a_criterion_kind_must_be_a_frozen_attrs_class_about_the_user() -> None:
    class Loose(Criterion):
        kind: ClassVar[str] = "t.loose"

    @attrs.define
    class Mutable(Criterion):
        kind: ClassVar[str] = "t.mutable"

    @frozen
    class OfEnrolments(Criterion):
        kind: ClassVar[str] = "t.of-enrolments"
        about_enrolments: ClassVar[bool] = True

    for cls, message in (
        (Loose, "frozen attrs class"),
        (Mutable, "frozen attrs class"),
        (OfEnrolments, "about the user"),
    ):
        with pytest.raises(TypeError, match=message):
            CriterionKind(cls, compile=_compile, reference=_reference)

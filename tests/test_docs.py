"""The Sphinx docs build without warnings, and the generated pages hold the real content.

The docs are built once per test session, in a subprocess (``python -m sphinx``) so the build
cannot disturb, or be disturbed by, other tests. The checks then read the built HTML and compare
it with the schema registry, the click command group, the problem kinds, the criteria
vocabulary, the plugin hook specifications and the registered definitions — each listed from
the code independently of the directives that render them, so a hook, a definition, a command
or a criterion kind that the docs leave out fails a test.
"""

from __future__ import annotations

import doctest
import inspect
import os
import re
import subprocess
import sys
import textwrap
import typing
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import attrs
import click
import pytest
from docutils.nodes import make_id

from threeml.cli.app import cli
from threeml.data.report import ProblemKind
from threeml.definitions import CRITERIA, CountingDefinition, from_toml
from threeml.docs.sphinxext import (
    column_constraints,
    column_presence,
    criterion_default,
    criterion_type,
    walk_commands,
)
from threeml.plugins import hookspecs
from threeml.plugins.registry import (
    DISABLE_VARIABLE,
    ENTRY_POINT_GROUP,
    NO_PLUGINS_VARIABLE,
    Registry,
    load_registry,
)
from threeml.records.schema import TABLES
from threeml.testing import plugin_spec_cases

cli.load_all()  # commands are imported lazily; the docs list every one of them

DOCS = Path(__file__).resolve().parent.parent / "docs"

pytestmark = pytest.mark.skipif(
    not (DOCS / "conf.py").exists(), reason="the docs sources are not in this checkout"
)


_STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _squash(text: str) -> str:
    """Text with whitespace collapsed and Sphinx's curly quotes made straight again."""
    return " ".join(unescape(text).translate(_STRAIGHT).split())


def _plain(text: str) -> str:
    """Docstring text as rendered: code spans lose their backticks."""
    return _squash(text.replace("``", "").replace("`", ""))


class _Page(HTMLParser):
    """The text of a built page, and its table rows grouped by the innermost section id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.rows: dict[str, list[list[str]]] = {}
        self.section_text: dict[str, list[str]] = {}
        self.text: list[str] = []
        self._stack: list[str | None] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def _current(self) -> str | None:
        return next((sid for sid in reversed(self._stack) if sid), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            sid = dict(attrs).get("id")
            self._stack.append(sid)
            if sid:
                self.sections.append(sid)
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self._stack:
            self._stack.pop()
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(_squash("".join(self._cell)))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.setdefault(self._current() or "", []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        section = self._current()
        if section:
            self.section_text.setdefault(section, []).append(data)

    def section(self, sid: str) -> str:
        return _squash("".join(self.section_text.get(sid, [])))


@pytest.fixture(scope="session")
def built_docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs-html")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q", DOCS, out],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"docs build failed:\n{result.stdout}\n{result.stderr}"
    return out


def _page(built_docs: Path, name: str) -> _Page:
    path = built_docs / f"{name}.html"
    assert path.exists(), f"{name}.html was not built"
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_docs_build_with_warnings_as_errors(built_docs: Path) -> None:
    for name in (
        "index",
        "tutorial",
        "howto/validate",
        "reference/schema",
        "reference/cli",
        "reference/api",
        "reference/catalogue",
        "reference/hooks",
        "howto/toml-definition",
        "howto/plugin",
        "howto/testing",
        "howto/publish",
        "howto/larger-engine",
        "explanation/why",
        "explanation/counting",
        "explanation/disclosure",
    ):
        assert (built_docs / f"{name}.html").exists(), name


def test_schema_page_has_a_section_per_table_in_order(built_docs: Path) -> None:
    page = _page(built_docs, "reference/schema")
    table_sections = [sid for sid in page.sections if sid.startswith("threeml-table-")]
    assert table_sections == [f"threeml-table-{name}" for name in TABLES]


def test_schema_page_lists_every_column_of_every_table(built_docs: Path) -> None:
    page = _page(built_docs, "reference/schema")
    for name, spec in TABLES.items():
        sid = f"threeml-table-{name}"
        text = page.section(sid)
        assert name in text
        assert _plain(spec.doc) in text, f"description of {name} missing"
        assert ("Required: yes" if spec.required else "Required: no") in text, name
        rows = page.rows.get(sid, [])
        assert rows, f"no column table for {name}"
        assert rows[0] == ["Column", "Type", "Required", "Constraints", "Description"]
        expected = [
            [
                col.name,
                _squash(col.describe_type()),
                column_presence(col),
                _squash(column_constraints(col)),
                _plain(col.doc),
            ]
            for col in spec.columns
        ]
        assert rows[1:] == expected, f"column table of {name}"
        for rule in spec.rules:
            assert _squash(rule.describe()) in text


def test_schema_page_shows_constraints_in_words(built_docs: Path) -> None:
    page = _page(built_docs, "reference/schema")
    enrolments = {row[0]: row for row in page.rows["threeml-table-enrolments"][1:]}
    assert enrolments["user_id"][3] == "references users.user_id"
    assert enrolments["enrolment_id"][3].startswith("key")
    users = {row[0]: row for row in page.rows["threeml-table-users"][1:]}
    assert users["risk_score"][3] == "from 0 to 1"
    assert users["conditions"][1] == "codes separated by ';'"


def _commands() -> list[tuple[click.Command, click.Context]]:
    return [(command, ctx) for command, ctx in walk_commands(cli) if ctx.parent is not None]


def test_cli_page_documents_every_command_and_option(built_docs: Path) -> None:
    page = _page(built_docs, "reference/cli")
    commands = _commands()
    names = {ctx.info_name for _, ctx in commands}
    assert names >= {"validate", "demo"}
    assert names >= {name for name, command in cli.commands.items() if not command.hidden}
    for command, ctx in commands:
        sid = "threeml-cli-" + "-".join(ctx.command_path.split()[1:])
        assert sid in page.sections, f"no section for {ctx.command_path}"
        text = page.section(sid)
        assert ctx.command_path in text
        first_line = (command.help or "").strip().splitlines()[0]
        assert _squash(first_line) in text, f"help of {ctx.command_path}"
        for param in command.get_params(ctx):
            if isinstance(param, click.Option):
                for opt in param.opts:
                    assert opt in text, f"{opt} of {ctx.command_path}"
                if param.help:
                    assert _plain(param.help) in text
            else:
                assert param.make_metavar(ctx) in text


def test_cli_page_shows_option_defaults(built_docs: Path) -> None:
    page = _page(built_docs, "reference/cli")
    rows = {row[0].split()[0]: row for row in page.rows["threeml-cli-validate"][1:]}
    assert rows["--format"][2] == "table"
    assert rows["--mode"][2] == "strict"
    assert rows["--max-per-kind"][2] == "5"


def test_howto_explains_every_problem_kind(built_docs: Path) -> None:
    page = _page(built_docs, "howto/validate")
    kinds = {row[0] for rows in page.rows.values() for row in rows[1:]}
    missing = [kind.value for kind in ProblemKind if kind.value not in kinds]
    assert not missing, f"problem kinds not explained in howto/validate.rst: {missing}"


def test_api_page_documents_the_public_types(built_docs: Path) -> None:
    text = (built_docs / "reference/api.html").read_text(encoding="utf-8")
    for name in (
        "threeml.records.User",
        "threeml.records.periods.Period",
        "threeml.records.codes.ServiceKind",
        "threeml.records.schema.TABLES",
        "threeml.data.Dataset",
        "threeml.data.ValidationReport",
    ):
        assert re.search(rf'id="{re.escape(name)}"', text), name


def _first_line(doc: str | None) -> str:
    return _plain(inspect.cleandoc(doc or "").split("\n\n")[0])


# Every CLI command, hookspec, registered definition and criterion kind is documented.


def test_cli_page_has_a_section_for_every_command(built_docs: Path) -> None:
    page = _page(built_docs, "reference/cli")
    missing = [
        name
        for name, command in cli.commands.items()
        if not command.hidden and f"threeml-cli-{name}" not in page.sections
    ]
    assert not missing, f"commands missing from reference/cli: {missing}"


def _hook_names() -> list[str]:
    return [
        name
        for name, value in vars(hookspecs).items()
        if name.startswith("threeml_") and callable(value)
    ]


def test_hooks_page_documents_every_hookspec(built_docs: Path) -> None:
    names = _hook_names()
    assert {"threeml_counting_definitions", "threeml_metric_definitions"} <= set(names)
    html = (built_docs / "reference/hooks.html").read_text(encoding="utf-8")
    page = _page(built_docs, "reference/hooks")
    missing = [name for name in names if f'id="threeml.plugins.hookspecs.{name}"' not in html]
    assert not missing, f"hookspecs missing from reference/hooks: {missing}"
    for name in names:
        sid = make_id(f"threeml-hook-{name}")
        assert sid in page.sections, f"no section for hook {name}"
        text = page.section(sid)
        assert _first_line(getattr(hookspecs, name).__doc__) in text, f"docstring of {name}"


@pytest.fixture(scope="module")
def registry() -> Registry:
    """The registry as the docs build saw it: installed plugins, this environment's switches."""
    return load_registry()


def test_catalogue_documents_every_registered_definition(
    built_docs: Path, registry: Registry
) -> None:
    page = _page(built_docs, "reference/catalogue")
    missing = [
        name
        for name in registry.names()
        if make_id(f"threeml-definition-{name}") not in page.sections
    ]
    assert not missing, f"definitions missing from reference/catalogue: {missing}"
    for definition in registry.definitions():
        text = page.section(make_id(f"threeml-definition-{definition.name}"))
        assert definition.name in text
        assert _squash(definition.title) in text
        assert f"Version: {definition.version}" in text
        source = registry.sources(definition.name)[0]
        assert _squash(source.describe()) in text
        if definition.origin:
            assert _squash(definition.origin) in text
        if isinstance(definition, CountingDefinition):
            assert f"counts {definition.unit.value}" in text
            # The criteria, in order.
            position = 0
            for criterion in definition.criteria:
                found = text.find(_squash(criterion.describe()), position)
                assert found >= 0, f"{definition.name}: {criterion.describe()}"
                position = found
        else:
            assert definition.population in text
            assert definition.measure.kind in text


def test_catalogue_lists_the_example_plugin_when_installed(
    built_docs: Path, registry: Registry
) -> None:
    if not any(p.name == "example" and p.entry_point for p in registry.plugins):
        pytest.skip("the example plugin is not installed, or is switched off")
    page = _page(built_docs, "reference/catalogue")
    names = ("example.pendant-heartbeat-7d", "example.telehealth-referrals")
    for name in (*names, "example.high-risk-pendants"):  # the last built with member-of
        assert make_id(f"threeml-definition-{name}") in page.sections, name


def test_toml_howto_lists_every_criterion_kind_with_its_fields(built_docs: Path) -> None:
    page = _page(built_docs, "howto/toml-definition")
    missing = [kind for kind in CRITERIA if f"threeml-criterion-{kind}" not in page.sections]
    assert not missing, f"criterion kinds missing from howto/toml-definition: {missing}"
    for kind, cls in CRITERIA.items():
        sid = f"threeml-criterion-{kind}"
        text = page.section(sid)
        assert kind in text
        assert _first_line(cls.__doc__) in text, f"docstring of {kind}"
        hints = typing.get_type_hints(cls)
        expected = [
            [attribute.name, criterion_type(hints[attribute.name]), criterion_default(attribute)]
            for attribute in attrs.fields(cls)
        ]
        rows = page.rows.get(sid, [])
        assert rows and rows[0] == ["Field", "Type", "Default"], kind
        assert rows[1:] == [[_squash(cell) for cell in row] for row in expected], kind


def test_toml_howto_lists_the_criterion_kinds_of_installed_plugins(
    built_docs: Path, registry: Registry
) -> None:
    from threeml.definitions.kinds import plugin_kinds

    kinds = plugin_kinds(registry)
    if not kinds:
        pytest.skip("no installed plugin supplies a criterion kind")
    page = _page(built_docs, "howto/toml-definition")
    for kind, value in kinds.items():
        sid = make_id(f"threeml-criterion-{kind}")
        assert sid in page.sections, f"plugin criterion kind {kind} missing"
        text = page.section(sid)
        assert _first_line(value.criterion.__doc__) in text, f"docstring of {kind}"
        assert "Supplied by a plugin" in text
        rows = page.rows.get(sid, [])
        assert [row[0] for row in rows[1:]] == [a.name for a in attrs.fields(value.criterion)]


def test_criterion_fields_are_described_for_a_file() -> None:
    fields = {a.name: a for a in attrs.fields(CRITERIA["contacts-at-least"])}
    assert criterion_default(fields["count"]) == "1"
    assert criterion_default(fields["contact_kinds"]) == "[] (any)"
    assert criterion_default(fields["window"]) == "the whole period"
    assert criterion_default(attrs.fields(CRITERIA["risk-at-least"]).threshold) == "required"
    hints = typing.get_type_hints(CRITERIA["contacts-at-least"])
    assert "heartbeat" in criterion_type(hints["contact_kinds"])
    assert criterion_type(hints["count"]) == "integer"


#: A code block with this class is shown but not run (it needs something the docs build lacks,
#: such as a plugin that is only an example); it must still compile.
NOT_RUN = "threeml-not-run"


def _blocks(name: str) -> list[tuple[str, list[str], str, int]]:
    """Every ``.. code-block::`` of a docs source page: language, options, body, line number."""
    lines = (DOCS / f"{name}.rst").read_text(encoding="utf-8").splitlines()
    blocks = []
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)\.\. code-block:: *(\S+)\s*$", line)
        if not match:
            continue
        indent = len(match.group(1))
        j = i + 1
        options = []
        while j < len(lines) and lines[j].strip().startswith(":"):
            options.append(lines[j].strip())
            j += 1
        body = []
        for following in lines[j:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        text = textwrap.dedent("\n".join(body)).strip() + "\n"
        blocks.append((match.group(2), options, text, j + 1))
    return blocks


def _code_blocks(name: str, language: str) -> list[str]:
    """The bodies of the ``.. code-block:: <language>`` blocks of a docs source page."""
    return [body for lang, _, body, _ in _blocks(name) if lang == language]


def test_toml_howto_example_is_a_valid_definition() -> None:
    text = _code_blocks("howto/toml-definition", "toml")[0]
    definition = from_toml(text)
    assert isinstance(definition, CountingDefinition)
    assert definition.name == "acme.heartbeat-7d"
    plugin = pytest.importorskip("threeml_example.plugin")
    assert definition.criteria == plugin.PENDANT_HEARTBEAT_7D.criteria


def test_plugin_howto_names_the_entry_point_group_and_switches(built_docs: Path) -> None:
    text = _squash("".join(_page(built_docs, "howto/plugin").text))
    for word in (
        f"[project.entry-points.{ENTRY_POINT_GROUP}]",
        DISABLE_VARIABLE,
        NO_PLUGINS_VARIABLE,
        "threeml plugins",
        "threeml definitions NAME",
        "from threeml.plugins.hookspecs import hookimpl",
    ):
        assert word in text, word


def test_api_page_documents_the_definitions_evaluator_and_plugins(built_docs: Path) -> None:
    text = (built_docs / "reference/api.html").read_text(encoding="utf-8")
    for name in (
        "threeml.definitions.CountingDefinition",
        "threeml.definitions.MetricDefinition",
        "threeml.definitions.EnrolmentOverlaps",
        "threeml.definitions.load_definition",
        "threeml.definitions.to_toml",
        "threeml.engine.evaluate.count",
        "threeml.engine.evaluate.count_many",
        "threeml.engine.results.CountResult",
        "threeml.engine.results.AttritionStep",
        "threeml.engine.explain.explain",
        "threeml.engine.reference.reference_count",
        "threeml.metrics.measures.evaluate_metric",
        "threeml.publish.disclosure.DisclosurePolicy",
        "threeml.plugins.registry.Registry",
        "threeml.plugins.registry.load_registry",
        "threeml.plugins.registry.default_registry",
        "threeml.plugins.registry.RegistryConflict",
        "threeml.plugins.registry.UnknownDefinition",
    ):
        assert re.search(rf'id="{re.escape(name)}"', text), name
    for kind, cls in CRITERIA.items():
        assert f'id="threeml.definitions.{cls.__name__}"' in text, kind


def test_no_page_shows_the_build_environment(built_docs: Path) -> None:
    """A default of ``os.environ`` must not be rendered as the environment's contents."""
    for path in built_docs.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "environ({" not in text, path.relative_to(built_docs)


# Worked examples in the catalogue.


def test_catalogue_renders_every_worked_example(built_docs: Path, registry: Registry) -> None:
    """Every registered definition whose plugin offers spec cases shows each of them."""
    cases = plugin_spec_cases(registry)
    if any(p.name == "counting" and p.entry_point for p in registry.plugins):
        standard = {
            c.definition for c in pytest.importorskip("threeml_counting.spec_cases").SPEC_CASES
        }
        assert standard <= set(cases), "the standard definitions' worked examples are missing"
    page = _page(built_docs, "reference/catalogue")
    for name, found in cases.items():
        for number, case in enumerate(found, start=1):
            sid = make_id(f"threeml-example-{name}-{number}")
            assert sid in page.sections, f"worked example {number} of {name} is not rendered"
            text = page.section(sid)
            assert _squash(case.title) in text, sid
            assert f"Period: {case.period} (" in text, sid
            counted = ", ".join(sorted(case.expected)) or "nobody"
            assert f"Counted: {counted} (" in text, sid
            expected_rows = []
            for columns, rows in case.tables().values():
                expected_rows.append(list(columns))
                expected_rows += [["" if v is None else str(v) for v in row] for row in rows]
            assert page.rows.get(sid) == expected_rows, f"tables of {sid}"
            unit = registry.counting(name).unit.value
            ids = [row[0] for row in (case.users if unit == "users" else case.enrolments)]
            for left_out in ids:
                if left_out not in case.expected:
                    assert f"{left_out} fails criterion" in text, f"{sid}: no reason for {left_out}"
            for note in case.notes:
                assert _squash(note) in text, sid


# The code in the docs runs.


def _doctest(name: str) -> None:
    """Run the page's ``pycon`` blocks as one doctest session, in order."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    namespace: dict[str, object] = {"__name__": f"docs_{make_id(name)}"}
    output: list[str] = []
    ran = 0
    for language, _, body, line in _blocks(name):
        if language != "pycon":
            continue
        test = parser.get_doctest(body, namespace, f"{name}.rst", f"{name}.rst", line)
        result = runner.run(test, out=output.append, clear_globs=False)
        namespace.update(test.globs)  # the test ran on a copy; the next block goes on from it
        ran += result.attempted
        assert result.failed == 0, f"{name}.rst, block at line {line}:\n" + "".join(output)
    assert ran, f"{name}.rst has no pycon examples"


#: The pages with ``pycon`` sessions; each runs as one doctest, its output checked.
SESSION_PAGES = (
    "tutorial",
    "howto/toml-definition",
    "howto/publish",
    "howto/larger-engine",
    "howto/loader",
)
#: Files a page's session reads, as the page tells the reader to write them: name, and the
#: position of the page's ``toml`` block holding the content.
SESSION_FILES = {"howto/toml-definition": {"heartbeat-7d.toml": 0}}


def test_every_python_session_is_a_listed_page() -> None:
    pages = {
        str(path.relative_to(DOCS).with_suffix(""))
        for path in DOCS.rglob("*.rst")
        if "_build" not in path.parts
        and any(
            lang == "pycon" for lang, *_ in _blocks(str(path.relative_to(DOCS).with_suffix("")))
        )
    }
    assert pages == set(SESSION_PAGES)


@pytest.mark.parametrize("name", SESSION_PAGES)
def test_the_python_sessions_run_as_shown(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("threeml_counting")
    monkeypatch.chdir(tmp_path)
    for file, position in SESSION_FILES.get(name, {}).items():
        (tmp_path / file).write_text(_code_blocks(name, "toml")[position], encoding="utf-8")
    _doctest(name)


#: The pages whose ``python`` blocks are run, each as one test module, blocks in order.
RUN_PAGES = ("howto/testing", "howto/plugin")


def test_the_python_examples_run_as_test_modules(tmp_path: Path) -> None:
    """Each page's ``python`` blocks, in order, are one test module, run by pytest.

    So a block may define tests that use the kit's fixtures, as a plugin's test file
    does. Blocks marked ``:class: threeml-not-run`` are only compiled. Hypothesis
    examples are scaled down (``THREEML_HYPOTHESIS_SCALE``) to keep this quick.
    """
    pytest.importorskip("threeml_example")
    for path in sorted(DOCS.rglob("*.rst")):
        name = str(path.relative_to(DOCS).with_suffix(""))
        if name in RUN_PAGES or "_build" in path.parts:
            continue
        for language, options, body, line in _blocks(name):
            if language == "python":
                assert f":class: {NOT_RUN}" in options, (
                    f"{name}.rst, line {line}: a python block on a page not in RUN_PAGES must "
                    f"be marked :class: {NOT_RUN} (or the page added to RUN_PAGES)"
                )
                compile(body, f"{name}.rst, line {line}", "exec")
    expected_tests = 0
    for name in RUN_PAGES:
        runnable = []
        for language, options, body, line in _blocks(name):
            if language != "python":
                continue
            if f":class: {NOT_RUN}" in options:
                compile(body, f"{name}.rst, line {line}", "exec")
                continue
            runnable.append(f"# {name}.rst, line {line}\n{body}")
        assert runnable, f"{name}.rst has no python examples to run"
        source = "\n\n".join(runnable)
        expected_tests += len(re.findall(r"^def test_", source, flags=re.M))
        (tmp_path / f"test_docs_{make_id(name).replace('-', '_')}.py").write_text(
            source, encoding="utf-8"
        )
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("THREEML_DISABLE_PLUGINS", "THREEML_NO_PLUGINS")
    }
    environment["THREEML_HYPOTHESIS_SCALE"] = "0.2"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", str(tmp_path)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
    assert passed >= expected_tests, result.stdout[-2000:]


def test_the_plugin_howto_copies_the_template_as_its_readme_does() -> None:
    """Both say the same rename; tests/test_testing_kit.py runs the README's commands."""
    readme = (DOCS.parent / "plugins" / "threeml-example" / "README.md").read_text("utf-8")
    commands = readme[readme.index("```bash\ncp -r") :]
    commands = commands[len("```bash\n") : commands.index("```", 8)]
    howto = _code_blocks("howto/plugin", "console")
    shown = [
        " ".join(block.replace("\\\n", " ").replace("$ ", "").split())
        for block in howto
        if "sed -i" in block
    ]
    assert shown == [" ".join(commands.replace("\\\n", " ").split())]


def test_the_testing_howto_names_every_fixture(built_docs: Path) -> None:
    from threeml.testing import pytest_plugin

    text = _squash("".join(_page(built_docs, "howto/testing").text))
    fixtures = [
        name
        for name, value in vars(pytest_plugin).items()
        if type(value).__name__ == "FixtureFunctionDefinition"  # pytest 8.4 and later
        or hasattr(value, "_pytestfixturefunction")  # earlier pytest
    ]
    assert set(fixtures) >= {"make_dataset", "threeml_registry", "check_spec_case"}
    for name in fixtures:
        assert name in text, f"fixture {name} is not described in howto/testing"
    for word in ("pytest11", "check_plugin", "check_definition", "SPEC_CASES", "strategies"):
        assert word in text, word


def test_api_page_documents_the_test_kit(built_docs: Path) -> None:
    text = (built_docs / "reference/api.html").read_text(encoding="utf-8")
    from threeml import testing
    from threeml.testing import strategies

    for name in testing.__all__:
        assert re.search(rf'id="threeml\.testing\.{name}"', text), name
    for name in ("extracts", "datasets", "periods", "definitions", "criteria", "Extract"):
        assert re.search(rf'id="threeml\.testing\.strategies\.{name}"', text), name
    assert strategies.__all__

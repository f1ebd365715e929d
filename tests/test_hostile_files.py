"""Hostile and malformed input (issue 14): environment variables, memory, files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from threeml.cli import main

MakeFolder = Callable[..., Path]


@pytest.mark.parametrize(
    ("variable", "value", "example"),
    [
        ("THREEML_MEMORY_LIMIT", "abc", "THREEML_MEMORY_LIMIT=4GB"),
        ("THREEML_MEMORY_LIMIT", "0", "THREEML_MEMORY_LIMIT=4GB"),
        ("THREEML_MEMORY_LIMIT", "0GB", "THREEML_MEMORY_LIMIT=4GB"),
        ("THREEML_MEMORY_LIMIT", "-1GB", "THREEML_MEMORY_LIMIT=4GB"),
        ("THREEML_MEMORY_LIMIT", "1GB'; SELECT 1; --", "THREEML_MEMORY_LIMIT=4GB"),
        ("THREEML_THREADS", "abc", "THREEML_THREADS=4"),
        ("THREEML_THREADS", "0", "THREEML_THREADS=4"),
        ("THREEML_THREADS", "-2", "THREEML_THREADS=4"),
    ],
)
def test_bad_engine_variable_is_named(
    variable: str,
    value: str,
    example: str,
    make_folder: MakeFolder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["validate", str(make_folder())]) == 2
    err = capsys.readouterr().err
    assert f"error: {variable}={value!r}" in err
    assert example in err
    assert "internal error" not in err


@pytest.mark.parametrize("value", ["500MB", "4gb", "1.5GiB", ""])
def test_good_memory_limits_are_accepted(
    value: str, make_folder: MakeFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREEML_MEMORY_LIMIT", value)
    monkeypatch.setenv("THREEML_THREADS", "2")
    assert main(["validate", str(make_folder())]) == 0


def test_engine_out_of_memory_names_the_variable(
    make_folder: MakeFolder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("THREEML_MEMORY_LIMIT", "10KB")
    assert main(["validate", str(make_folder())]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: the engine ran out of its memory cap (THREEML_MEMORY_LIMIT=10KB): raise it, "
        "e.g. THREEML_MEMORY_LIMIT=4GB, or count a smaller extract or fewer definitions at once\n"
    )
    assert "SET" not in err


def test_wrapped_out_of_memory_is_translated(
    make_folder: MakeFolder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import threeml.data.engine as engine

    def exhausted(*args: object, **kwargs: object) -> object:
        try:
            raise duckdb.OutOfMemoryException("Out of Memory Error: SET memory_limit='...GB'")
        except duckdb.OutOfMemoryException as error:
            raise RuntimeError("query failed") from error

    monkeypatch.setattr(engine.ibis.duckdb, "connect", exhausted)
    assert main(["validate", str(make_folder())]) == 2
    err = capsys.readouterr().err
    assert "ran out of its memory cap (THREEML_MEMORY_LIMIT=1.25GB)" in err
    assert "internal error" not in err


_SPILL_SCRIPT = """
import sys
from threeml.data.engine import _spill_folder, connect
connect()
print(_spill_folder(), flush=True)
if sys.argv[1] == "fail":
    raise RuntimeError("boom")
"""


@pytest.mark.parametrize("ending", ["ok", "fail"])
def test_spill_folder_is_removed_when_the_process_ends(ending: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SPILL_SCRIPT, ending],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert done.returncode == (0 if ending == "ok" else 1), done.stderr
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("threeml-spill-")
    assert not folder.exists()

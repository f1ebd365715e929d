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
from threeml.data import Dataset
from threeml.data.demo import demo_folder
from threeml.errors import DataError

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


def test_symlinked_table_out_of_the_folder_is_refused(
    make_folder: MakeFolder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder()
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-CONTENT\n")
    (folder / "outcomes.csv").unlink(missing_ok=True)
    (folder / "outcomes.csv").symlink_to(secret)
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "outcomes.csv" in err
    assert "symbolic link to a file outside the extract folder" in err
    assert "copy the file into the folder" in err
    assert "SECRET-CONTENT" not in err
    with pytest.raises(DataError, match=r"outcomes\.csv .* symbolic link"):
        Dataset.from_folder(folder)


def test_symlinks_are_followed_only_when_asked(make_folder: MakeFolder, tmp_path: Path) -> None:
    folder = make_folder()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / "users.csv").rename(elsewhere / "users.csv")
    (folder / "users.csv").symlink_to(elsewhere / "users.csv")
    with pytest.raises(DataError, match=r"users\.csv"):
        Dataset.from_folder(folder)
    assert Dataset.from_folder(folder, follow_symlinks=True).tables["users"].count().execute() == 3


def test_symlink_inside_the_folder_is_read(make_folder: MakeFolder) -> None:
    folder = make_folder()
    (folder / "users.csv").rename(folder / "people.txt")
    (folder / "users.csv").symlink_to(folder / "people.txt")
    assert Dataset.from_folder(folder).tables["users"].count().execute() == 3


def test_report_never_writes_through_a_symlink(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    (out / "results.csv").symlink_to(target)
    code = main(
        ["report", "--data", str(demo_folder()), "--period", "FY2013/14", "--out", str(out)]
    )
    assert code == 0
    assert target.read_text() == "keep me\n"
    assert not (out / "results.csv").is_symlink()
    assert (out / "results.csv").read_text().startswith("section,name,")


def test_utf16_file_is_named_with_its_encoding(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder()
    text = (folder / "users.csv").read_text(encoding="utf-8")
    (folder / "users.csv").write_text(text, encoding="utf-16")
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"error: {folder / 'users.csv'} is encoded as UTF-16" in err
    assert "save it again as UTF-8" in err
    assert "internal error" not in err


def test_cr_only_line_endings_are_named(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder()
    text = (folder / "users.csv").read_text(encoding="utf-8")
    (folder / "users.csv").write_bytes(text.replace("\n", "\r").encode())
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"error: {folder / 'users.csv'} has carriage-return-only line endings" in err
    assert "internal error" not in err


def test_crlf_line_endings_are_read(make_folder: MakeFolder) -> None:
    folder = make_folder()
    text = (folder / "users.csv").read_text(encoding="utf-8")
    (folder / "users.csv").write_bytes(text.replace("\n", "\r\n").encode())
    assert Dataset.from_folder(folder).tables["users"].count().execute() == 3


def test_overlong_first_line_is_refused_unread(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder()
    (folder / "users.csv").write_bytes(b"x" * (2 << 20) + b"\n")
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "the first line of" in err and "users.csv is longer than 1048576 bytes" in err

"""Validation once per extract: what validating a folder found, kept against its file stamps.

Validating a national extract scans every table; a second command on the same, unchanged
files need not do it again. After a folder is validated, what validation found — the report,
whether the extract was refused, the rows lenient mode set aside (row numbers and kinds) and
the latest event date — is written as JSON (never pickle: a cache file is data, and reading
one runs nothing) beside a *key*: the stamp of every table file (path, size, modification
time and a content hash, :mod:`threeml.data.stamps`), threeml's version, a hash of the
validation code itself and the validation options (mode, given extract date, whether symbolic
links are followed). The next load with the same key reads that instead of checking the rows;
any change to a file, a file added or removed, another option or another threeml gives
another key, and the folder is validated again (and the entry replaced).

Plugins' criterion kinds, definitions and measure kinds do not take part in validation, so they
are not part of the key.

**Where.** ``$THREEML_CACHE_DIR`` when set; else a folder ``.threeml-cache`` inside the extract
folder when that folder is writable; else ``threeml/validation`` in the user's cache directory
(``$XDG_CACHE_HOME``, default ``~/.cache``). One file per extract folder and set of options,
named by a hash of them; deleting any of these folders is always safe. ``THREEML_NO_CACHE=1``
switches the cache off. :func:`revalidating` (the command line's ``--revalidate``) validates
again and replaces the entry.

**Trust.** A cache file holds its own SHA-256 over its key and content. A file that is not
JSON, not a threeml validation cache, of another layout or whose hash does not match is
ignored with a :class:`ValidationCacheNotice` (a warning) and the extract validated again;
it is never trusted blindly.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from attrs import field, frozen

from threeml._version import __version__
from threeml.data.report import Problem, ProblemKind, ValidationReport
from threeml.data.stamps import FileStamp
from threeml.errors import ThreemlError

__all__ = [
    "CACHE_DIR_VARIABLE",
    "LOCAL_FOLDER",
    "NO_CACHE_VARIABLE",
    "CacheSettingError",
    "CachedValidation",
    "KeptValidation",
    "ValidationCache",
    "ValidationCacheNotice",
    "cache_enabled",
    "revalidating",
]

#: The environment variable naming the folder validation results are kept in.
CACHE_DIR_VARIABLE = "THREEML_CACHE_DIR"
#: The environment variable that switches the validation cache off (``1``).
NO_CACHE_VARIABLE = "THREEML_NO_CACHE"
#: The folder inside an extract folder that holds its cached validation.
LOCAL_FOLDER = ".threeml-cache"
#: What a cache file says it is, and the layout of its content.
FORMAT = "threeml-validation-cache"
LAYOUT = 3

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

_REVALIDATE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "threeml_revalidate", default=False
)


class CacheSettingError(ThreemlError):
    """``THREEML_CACHE_DIR`` or ``THREEML_NO_CACHE`` has a value threeml cannot use."""


class ValidationCacheNotice(UserWarning):
    """A cache file was ignored (damaged, foreign, unwritable); the extract is validated."""


def cache_enabled() -> bool:
    """Whether validation results are kept (``THREEML_NO_CACHE`` unset, ``0`` or ``false``)."""
    given = os.environ.get(NO_CACHE_VARIABLE, "").strip().lower()
    if given in _TRUE:
        return False
    if given in _FALSE:
        return True
    raise CacheSettingError(
        f"{NO_CACHE_VARIABLE}={os.environ[NO_CACHE_VARIABLE]!r} is not a switch threeml "
        f"understands: set {NO_CACHE_VARIABLE}=1 to keep no validation results, or "
        f"{NO_CACHE_VARIABLE}=0 (or leave it unset) to keep them"
    )


@contextlib.contextmanager
def revalidating(force: bool = True) -> Iterator[None]:
    """Within this block, folders are validated again even when a cached result matches
    (the result then replaces the cached one)."""
    token = _REVALIDATE.set(force)
    try:
        yield
    finally:
        _REVALIDATE.reset(token)


def _configured_root() -> Path | None:
    given = os.environ.get(CACHE_DIR_VARIABLE, "").strip()
    if not given:
        return None
    root = Path(given).expanduser()
    if root.exists() and not root.is_dir():
        raise CacheSettingError(
            f"{CACHE_DIR_VARIABLE}={given!r} is a file, not a folder: name a folder threeml "
            f"may create and write validation results in, or unset {CACHE_DIR_VARIABLE}"
        )
    return root


def _user_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "threeml" / "validation"


def _writable(folder: Path) -> bool:
    if folder.is_dir():
        return os.access(folder, os.W_OK | os.X_OK)
    return os.access(folder.parent, os.W_OK | os.X_OK)


def cache_root(extract_folder: Path) -> Path:
    """The folder that keeps the validation results of ``extract_folder`` (see above)."""
    configured = _configured_root()
    if configured is not None:
        return configured
    local = extract_folder / LOCAL_FOLDER
    if _writable(local):
        return local
    return _user_root()


@functools.cache
def _code_digest() -> str:
    """A hash of the modules whose code decides what validation finds (records and data).

    Part of the key, so that a changed check is never answered from a result it did not find,
    even when the version number stayed the same (a development install).
    """
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    for folder in ("records", "data"):
        for path in sorted((package / folder).rglob("*.py")):
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


# --- what is kept --------------------------------------------------------------------------


def _report_to_data(report: ValidationReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "rows": [[t, n] for t, n in report.rows.items()],  # a list keeps the tables' order
        "counts": [[t, k.value, n] for (t, k), n in report.counts.items()],
        "examples": [
            {
                "table": p.table,
                "kind": p.kind.value,
                "message": p.message,
                "file": p.file,
                "row": p.row,
                "column": p.column,
                "value": p.value,
            }
            for p in report.examples
        ],
        "set_aside": [[t, k.value, n] for (t, k), n in report.set_aside.items()],
    }


def _report_from_data(data: Mapping[str, Any], source: str) -> ValidationReport:
    return ValidationReport(
        source=source,
        rows={str(t): int(n) for t, n in data["rows"]},
        counts={(str(t), ProblemKind(k)): int(n) for t, k, n in data["counts"]},
        examples=tuple(
            Problem(
                table=p["table"],
                kind=ProblemKind(p["kind"]),
                message=p["message"],
                file=p["file"],
                row=p["row"],
                column=p["column"],
                value=p["value"],
            )
            for p in data["examples"]
        ),
        set_aside={(str(t), ProblemKind(k)): int(n) for t, k, n in data["set_aside"]},
    )


@frozen
class CachedValidation:
    """What validating a folder found, as the cache keeps it.

    ``set_aside_rows`` maps each table with rows set aside (lenient mode) to its rows as
    ``(row, kind)`` pairs; ``latest_date`` is the latest event date of the kept rows, when it
    was computed (no extract date was given); ``clean_lists`` maps each table read from a file
    to its list columns found already clean (:mod:`threeml.data.code_lists`). The extract's
    fingerprint needs nothing kept here: it is the files' stamps, which are the entry's key
    (:mod:`threeml.data.fingerprint`).
    """

    report: ValidationReport
    refused: bool
    latest_date: date | None = None
    set_aside_rows: Mapping[str, tuple[tuple[int, str], ...]] = field(factory=dict)
    clean_lists: Mapping[str, tuple[str, ...]] = field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "report": _report_to_data(self.report),
            "refused": self.refused,
            "latest_date": self.latest_date.isoformat() if self.latest_date else None,
            "set_aside_rows": {
                table: {
                    "row": [row for row, _ in rows],
                    "kind": [kind for _, kind in rows],
                }
                for table, rows in self.set_aside_rows.items()
            },
            "clean_lists": {table: list(columns) for table, columns in self.clean_lists.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str) -> CachedValidation:
        """Read back what :meth:`to_dict` wrote, with the report's source as given now."""
        found = data["latest_date"]
        return cls(
            report=_report_from_data(data["report"], source),
            refused=bool(data["refused"]),
            latest_date=date.fromisoformat(found) if found else None,
            set_aside_rows={
                str(table): tuple(
                    (int(row), ProblemKind(kind).value)
                    for row, kind in zip(rows["row"], rows["kind"], strict=True)
                )
                for table, rows in data["set_aside_rows"].items()
            },
            clean_lists={
                str(table): tuple(str(column) for column in columns)
                for table, columns in data["clean_lists"].items()
            },
        )


# --- the cache of one folder ---------------------------------------------------------------


@frozen
class ValidationCache:
    """The cache entry of one extract folder under one set of validation options.

    Made by :meth:`for_folder`; :meth:`load` answers a matching result (or ``None``),
    :meth:`store` keeps a new one.
    """

    path: Path
    options: Mapping[str, Any]
    stamps: tuple[FileStamp, ...]

    @classmethod
    def for_folder(
        cls, folder: Path, stamps: tuple[FileStamp, ...], *, options: Mapping[str, Any]
    ) -> ValidationCache:
        """The cache entry for ``folder`` whose table files have the stamps ``stamps``
        (:func:`threeml.data.stamps.stamp_files`)."""
        full = {
            "folder": str(folder.resolve()),
            "threeml": __version__,
            "code": _code_digest(),
            **{k: v for k, v in options.items()},
        }
        name = hashlib.sha256(_canonical(full)).hexdigest()[:32]
        return cls(cache_root(folder) / f"validation-{name}.json", full, stamps)

    @property
    def key(self) -> dict[str, Any]:
        """Everything a cached result must have been computed under."""
        return {"options": dict(self.options), "files": [s.to_dict() for s in self.stamps]}

    def load(self, source: str) -> CachedValidation | None:
        """The cached result when the entry exists, is intact and its key matches; else
        ``None`` (and a notice when the file was damaged or foreign)."""
        if _REVALIDATE.get() or not self.path.is_file():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            return self._ignored(f"it cannot be read as JSON ({error})")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return self._ignored("it is not a threeml validation cache")
        if data.get("layout") != LAYOUT:
            return None  # written by another threeml: validated again, and replaced
        body = {k: data.get(k) for k in ("key", "result")}
        if data.get("sha256") != hashlib.sha256(_canonical(body)).hexdigest():
            return self._ignored("its content does not match its own hash (it was changed)")
        if data["key"] != json.loads(_canonical(self.key)):
            return None  # a file changed, or other options: validated again, and replaced
        try:
            return CachedValidation.from_dict(data["result"], source)
        except (KeyError, TypeError, ValueError) as error:
            return self._ignored(f"its content is not what threeml writes ({error})")

    def _ignored(self, why: str) -> None:
        warnings.warn(
            f"ignored the validation cache file {self.path}: {why}; the extract is validated "
            "again and the file replaced",
            ValidationCacheNotice,
            stacklevel=3,
        )
        return None

    def store(self, result: CachedValidation) -> None:
        """Keep ``result`` under this entry's key (written whole, then moved into place)."""
        body = {"key": self.key, "result": result.to_dict()}
        body = json.loads(_canonical(body))
        document = {
            "format": FORMAT,
            "layout": LAYOUT,
            "sha256": hashlib.sha256(_canonical(body)).hexdigest(),
            **body,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                prefix=".validation-", suffix=".tmp", dir=self.path.parent
            )
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, separators=(",", ":"))
            os.replace(temporary, self.path)
        except OSError as error:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temporary)
            warnings.warn(
                f"could not keep the validation result in {self.path.parent} ({error}); the "
                f"next command validates the extract again (set {CACHE_DIR_VARIABLE} to a "
                "writable folder)",
                ValidationCacheNotice,
                stacklevel=2,
            )


@frozen
class KeptValidation:
    """A dataset's cache entry and the result kept there (or just stored)."""

    entry: ValidationCache
    result: CachedValidation

"""A stamp of each file of an extract folder, taken before a row is read: the validation
cache's key.

A :class:`FileStamp` holds a table file's path, size, modification time and a SHA-256 of its
content: every byte of a CSV file; the footer of a Parquet file (its metadata: schema, row
groups, their sizes, offsets and column statistics), which changes whenever the rows do,
and costs a few kilobytes to read however large the file is. Any change to a file — touching
it, rewriting it, adding or removing a table file — changes the stamps.

The stamps are taken once per load and serve twice: as the validation cache's key
(:mod:`threeml.data.cache`), with the path, size and modification time, and as the extract's
fingerprint in every output's provenance (:mod:`threeml.data.fingerprint`), with the content
hash alone (so that a copy of the same files elsewhere has the same fingerprint).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from attrs import frozen

from threeml.errors import DataError

__all__ = ["FILE_HASH_METHOD", "FileStamp", "content_hash", "stamp_files"]

#: How a file's content hash is computed, as outputs state it.
FILE_HASH_METHOD = "sha256 of each file: every byte of a CSV file, the footer of a Parquet file"

#: The bytes that end every Parquet file (after the 4-byte length of its footer).
_PARQUET_MAGIC = b"PAR1"


@frozen
class FileStamp:
    """One table file as found: where, how large, when last changed, and its content hash."""

    table: str
    path: str
    size: int
    modified_ns: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """The stamp as plain JSON-ready data."""
        return {
            "table": self.table,
            "path": self.path,
            "size": self.size,
            "modified_ns": self.modified_ns,
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileStamp:
        """Read back what :meth:`to_dict` wrote."""
        return cls(
            str(data["table"]),
            str(data["path"]),
            int(data["size"]),
            int(data["modified_ns"]),
            str(data["sha256"]),
        )


def _parquet_footer(handle: Any, size: int) -> bytes:
    """The footer of a Parquet file: its metadata, its length and the closing magic bytes."""
    if size < 12:
        return b""
    handle.seek(size - 8)
    tail = handle.read(8)
    if tail[4:] != _PARQUET_MAGIC:
        return b""
    length = int.from_bytes(tail[:4], "little")
    start = max(0, size - 8 - length)
    handle.seek(start)
    return handle.read(size - start)


def content_hash(path: Path, file_format: str) -> str:
    """SHA-256 of a CSV file's bytes, or of a Parquet file's footer (every byte of a file
    that has none, which threeml will refuse when it reads it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        if file_format == "parquet":
            footer = _parquet_footer(handle, os.fstat(handle.fileno()).st_size)
            if footer:
                digest.update(b"parquet-footer:")
                digest.update(footer)
                return digest.hexdigest()
            handle.seek(0)
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stamp_files(sources: Iterable[Any]) -> tuple[FileStamp, ...]:
    """The stamp of each source file (anything with ``table``, ``path`` and ``format``),
    in table order; a :class:`DataError` naming a file that cannot be read."""
    stamps = []
    for source in sources:
        path = Path(source.path)
        try:
            found = path.stat()
            digest = content_hash(path, source.format)
        except OSError as error:
            raise DataError(
                f"cannot read {path}: {error.strerror or error}; check that the file exists "
                "and that you may read it"
            ) from error
        stamps.append(
            FileStamp(source.table, str(path.resolve()), found.st_size, found.st_mtime_ns, digest)
        )
    return tuple(stamps)

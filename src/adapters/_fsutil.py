"""Small file helpers shared by the adapters (storage, learning, embeddings): durable writes and
checksums (blocking; call them in a thread)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def fsync_dir(directory: Path) -> None:
    """Make a rename or a file creation in ``directory`` durable.

    A file's own fsync does not persist its directory entry; without this a crash right after
    ``os.replace`` may bring back the old file. Filesystems that cannot fsync a directory
    (EINVAL) are tolerated: there is nothing more we can do there.
    """
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def temp_name(final: Path) -> Path:
    """A hidden, unique sibling of ``final``: same directory, so ``os.replace`` is atomic."""
    return final.with_name(f".{final.name}.{os.urandom(4).hex()}.tmp")


@contextlib.contextmanager
def atomic_writer(final: Path) -> Iterator[BinaryIO]:
    """Write ``final`` whole or not at all.

    Yields a binary file opened on a temporary sibling; on success it is flushed, fsynced and
    renamed over ``final`` (then the directory is fsynced); on any error the temporary file is
    removed and ``final`` is untouched.
    """
    temp = temp_name(final)
    # O_EXCL: never write through a file (or symlink) someone else put at the temporary name.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(final.parent)


def atomic_write_bytes(final: Path, data: bytes) -> None:
    """Replace ``final`` with ``data`` atomically and durably."""
    with atomic_writer(final) as handle:
        handle.write(data)


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read a megabyte at a time (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

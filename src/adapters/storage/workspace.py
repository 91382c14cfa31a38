"""The workspace on the local filesystem: the one folder of files users may name.

Every user path goes through two gates. ``parse_user_path`` refuses, lexically, what can never be
inside the workspace (absolute paths, ``..``, NUL...). Then the path is joined to the real root
and resolved by the filesystem, symlinks included, and refused unless the real location is the
root or below it. Errors name the workspace-relative path only, never where the workspace lives
on the host.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from trainerbot.adapters._fsutil import fsync_dir, temp_name
from trainerbot.core.entities import Archive, FileContent, ManifestEntry, WorkspaceFile
from trainerbot.core.errors import (
    EmptyFolder,
    FileTooLarge,
    InvalidPath,
    NotAFile,
    NotAFolder,
    PathOutsideWorkspace,
    WorkspaceError,
    WorkspaceFileNotFound,
)
from trainerbot.core.limits import human_bytes
from trainerbot.core.paths import parse_user_path
from trainerbot.ports import Workspace

log = logging.getLogger(__name__)

FOLDERS = ("datasets", "archives", "exports", "records")
ARCHIVES = "archives"
EXPORTS = "exports"
MANIFEST = "manifest.json"

_CHUNK = 1024 * 1024
# Room for "-YYYYmmdd-HHMMSS-xxxxxx.zip" (and the temporary prefix/suffix) within 255 bytes.
_MAX_ARCHIVE_STEM_BYTES = 180


def _too_large(size: int, limit: int) -> FileTooLarge:
    shown, shown_limit = human_bytes(size), human_bytes(limit)
    if shown == shown_limit:
        # "8.0 MB; the limit is 8.0 MB" would read as a contradiction: give the exact counts.
        shown, shown_limit = f"{size:,} bytes", f"{limit:,} bytes"
    return FileTooLarge(f"That file is {shown}; the limit is {shown_limit}.")


@dataclass(frozen=True)
class _Located:
    """A user path after both gates: its normalised relative form and its real location."""

    rel: str
    real: Path

    @property
    def shown(self) -> str:
        return self.rel or "the workspace"


class FilesystemWorkspace(Workspace):
    """The workspace folder on the local disk; creates it and its standard folders if needed.

    ``excluded`` names folders and files that count as outside it (the tenants' workspaces,
    ``servers/``, below the workspace that holds them; the records' SQLite database): never
    read, listed or archived.
    """

    def __init__(self, root: Path, *, excluded: tuple[str, ...] = ()) -> None:
        root.mkdir(parents=True, exist_ok=True)
        for name in FOLDERS:
            (root / name).mkdir(parents=True, exist_ok=True)
        # The real root: every real location is compared with it, so it must be real itself.
        self._root = root.resolve()
        self._excluded = tuple(self._root / name for name in excluded)
        self._excluded_names = frozenset(path.name for path in self._excluded)

    @property
    def root(self) -> Path:
        return self._root

    # --- path resolution -------------------------------------------------------------------

    def resolve(self, path: str, *, allow_root: bool = False) -> Path:
        """The real location of the user path ``path``, or raise.

        ``PathOutsideWorkspace`` if it leads (lexically or through a symlink) outside the
        workspace; ``InvalidPath`` if it is malformed or longer than the filesystem allows.
        ``""`` (the workspace itself) is accepted only with ``allow_root``.
        """
        return self._locate(path, allow_root=allow_root).real

    def _locate(self, path: str, *, allow_root: bool = False) -> _Located:
        rel = parse_user_path(path, allow_root=allow_root)
        shown = rel or "the workspace"
        joined = self._root / rel if rel else self._root
        try:
            real = joined.resolve()
        except RuntimeError as error:  # Python 3.11 reports symlink loops this way
            raise InvalidPath(f"'{shown}' is a symlink loop.") from error
        except OSError as error:
            if error.errno == errno.ELOOP:  # newer Pythons report symlink loops this way
                raise InvalidPath(f"'{shown}' is a symlink loop.") from error
            raise _domain_error(error, shown) from error
        try:
            # resolve() tolerates errors on paths that do not exist yet; ask the OS once whether
            # the name itself is acceptable. Missing is fine: the operation decides what it means.
            os.lstat(real)
        except OSError as error:
            if error.errno == errno.ENAMETOOLONG:
                raise InvalidPath("That path is longer than the filesystem allows.") from error
        if not self._inside(real):
            raise PathOutsideWorkspace(
                f"'{shown}' leads outside the workspace; give a path inside it."
            )
        return _Located(rel=rel, real=real)

    def _inside(self, real: Path) -> bool:
        return real.is_relative_to(self._root) and not any(
            real.is_relative_to(excluded) for excluded in self._excluded
        )

    # --- the port --------------------------------------------------------------------------

    async def read_file(self, path: str, *, max_bytes: int) -> FileContent:
        return await asyncio.to_thread(self._read_file, path, max_bytes)

    async def list_files(self, folder: str) -> list[WorkspaceFile]:
        return await asyncio.to_thread(self._list_files, folder)

    async def exists(self, path: str) -> bool:
        return await asyncio.to_thread(self._exists, path)

    async def archive(self, folder: str) -> Archive:
        return await asyncio.to_thread(self._archive, folder)

    async def export(self, name: str, data: bytes) -> FileContent:
        return await asyncio.to_thread(self._export, name, data)

    # --- blocking implementations ----------------------------------------------------------

    def _read_file(self, path: str, max_bytes: int) -> FileContent:
        where = self._locate(path)
        with _translate_os_errors(where.shown):
            # O_NONBLOCK: opening a FIFO someone left in the workspace must not hang a thread.
            # O_NOFOLLOW: the real path has no symlinks; one appearing since is refused (ELOOP).
            flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(where.real, flags)
            try:
                info = os.fstat(fd)
                if stat.S_ISDIR(info.st_mode):
                    raise NotAFile(f"'{where.shown}' is a folder, not a file.")
                if not stat.S_ISREG(info.st_mode):
                    raise InvalidPath(f"'{where.shown}' is not a regular file.")
                if info.st_size > max_bytes:
                    raise _too_large(info.st_size, max_bytes)
                # One byte more than allowed tells a file that grew since fstat from one that fits.
                data = _read_up_to(fd, max_bytes + 1)
                if len(data) > max_bytes:
                    raise _too_large(max(os.fstat(fd).st_size, len(data)), max_bytes)
            finally:
                os.close(fd)
        return FileContent(path=where.rel, data=data)

    def _list_files(self, folder: str) -> list[WorkspaceFile]:
        where = self._locate(folder, allow_root=True)
        return self._files_below(where)

    def _files_below(self, where: _Located) -> list[WorkspaceFile]:
        with _translate_os_errors(where.shown):
            info = os.stat(where.real)
            if not stat.S_ISDIR(info.st_mode):
                raise NotAFolder(f"'{where.shown}' is a file, not a folder.")
            found: list[WorkspaceFile] = []
            # Walk the path as the user named it, so listed paths are ones they can use.
            start = self._root / where.rel if where.rel else self._root
            self._walk(start, where.rel, {(info.st_dev, info.st_ino)}, found)
        found.sort(key=lambda item: item.path)
        return found

    def _walk(
        self, directory: Path, rel: str, seen: set[tuple[int, int]], found: list[WorkspaceFile]
    ) -> None:
        with os.scandir(directory) as iterator:
            entries = list(iterator)
        for entry in entries:
            entry_rel = f"{rel}/{entry.name}" if rel else entry.name
            entry_path = Path(entry.path)
            if entry.is_symlink():
                try:
                    target = entry_path.resolve()
                    info = os.stat(target)
                except (OSError, RuntimeError):
                    continue  # dangling or looping link: nothing to list
                if not self._inside(target):
                    # Never follow a link out of the workspace, not even to list names.
                    log.info("skipping a symlink that leads outside the workspace: %s", entry_rel)
                    continue
            else:
                info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                if not self._inside(Path(os.path.realpath(entry_path))):
                    continue  # an excluded folder (another tenant's workspace)
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    continue  # a link back to a folder already walked: no endless loop
                seen.add(key)
                self._walk(entry_path, entry_rel, seen, found)
            elif stat.S_ISREG(info.st_mode):
                if entry.name in self._excluded_names and not self._inside(
                    Path(os.path.realpath(entry_path))
                ):
                    continue  # an excluded file (the records' database)
                found.append(WorkspaceFile(path=entry_rel, size=info.st_size))

    def _exists(self, path: str) -> bool:
        where = self._locate(path, allow_root=True)
        with _translate_os_errors(where.shown):
            return where.real.exists()

    def _archive(self, folder: str) -> Archive:
        where = self._locate(folder)
        archives = self._root / ARCHIVES
        if where.real == self._root:
            # A link to "." would otherwise zip the whole workspace, archives included.
            raise InvalidPath("Give a folder inside the workspace, not the workspace itself.")
        if where.real.is_relative_to(archives.resolve()):
            raise InvalidPath("You cannot archive the archives folder.")
        files = self._files_below(where)
        if not files:
            raise EmptyFolder(f"'{where.shown}' has no files to archive.")

        archives.mkdir(exist_ok=True)
        if not self._inside(archives.resolve()):
            raise WorkspaceError("The archives folder leads outside the workspace.")
        created = datetime.now(UTC)
        stem = _safe_stem(where.rel.rsplit("/", 1)[-1])
        name = f"{stem}-{created:%Y%m%d-%H%M%S}-{os.urandom(3).hex()}.zip"
        final = archives / name
        temp = temp_name(final)
        prefix = f"{where.rel}/"
        try:
            with _translate_os_errors(where.shown):
                entries = _write_zip(
                    temp,
                    [(self._root / item.path, item.path.removeprefix(prefix)) for item in files],
                    source=where.rel,
                    created=created,
                )
                os.replace(temp, final)
                fsync_dir(archives)
        finally:
            # Gone after a successful replace; left over only if something failed.
            temp.unlink(missing_ok=True)
        return Archive(path=f"{ARCHIVES}/{name}", source=where.rel, files=entries)

    def _export(self, name: str, data: bytes) -> FileContent:
        exports = self._root / EXPORTS
        exports.mkdir(exist_ok=True)
        if not self._inside(exports.resolve()):
            raise WorkspaceError("The exports folder leads outside the workspace.")
        final = exports / _export_name(name, datetime.now(UTC))
        temp = temp_name(final)
        try:
            with _translate_os_errors(f"{EXPORTS}/{final.name}"):
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, final)
                fsync_dir(exports)
        finally:
            temp.unlink(missing_ok=True)
        return FileContent(path=f"{EXPORTS}/{final.name}", data=data)


def _export_name(name: str, when: datetime) -> str:
    """``corrections.jsonl`` → ``corrections-20261123-101500-a1b2c3.jsonl``."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        raise InvalidPath(f"Not a plain file name: {name!r}")
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, f".{suffix}") if dot and stem else (name, "")
    return f"{_safe_stem(stem)}-{when:%Y%m%d-%H%M%S}-{os.urandom(3).hex()}{suffix[:16]}"


def _write_zip(
    target: Path, members: list[tuple[Path, str]], *, source: str, created: datetime
) -> tuple[ManifestEntry, ...]:
    """Zip ``members`` (file, name in the zip) into ``target`` with a manifest; fsync it."""
    entries: list[ManifestEntry] = []
    taken = {arcname for _, arcname in members}
    manifest_name = MANIFEST
    while manifest_name in taken:
        # The folder has its own manifest.json: keep it, and name ours so it does not clash.
        manifest_name = f"_{manifest_name}"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        with ZipFile(handle, "w", compression=ZIP_DEFLATED, strict_timestamps=False) as archive:
            for path, arcname in members:
                info = ZipInfo.from_file(path, arcname)
                info.compress_type = ZIP_DEFLATED
                digest = hashlib.sha256()
                size = 0
                # Hash and size what is actually zipped, so the manifest matches the archive
                # even if the file changed since it was listed.
                with open(path, "rb") as source_file, archive.open(info, "w") as member:
                    while chunk := source_file.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        member.write(chunk)
                entries.append(ManifestEntry(path=arcname, size=size, sha256=digest.hexdigest()))
            manifest = {
                "source": source,
                "created_at": created.isoformat(),
                "files": [
                    {"path": entry.path, "size": entry.size, "sha256": entry.sha256}
                    for entry in entries
                ],
            }
            archive.writestr(
                manifest_name, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
            )
        handle.flush()
        os.fsync(handle.fileno())
    return tuple(entries)


def _safe_stem(name: str) -> str:
    """``name`` cut to a length that keeps the archive file name within filesystem limits."""
    encoded = name.encode("utf-8")[:_MAX_ARCHIVE_STEM_BYTES]
    return encoded.decode("utf-8", errors="ignore") or "folder"


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


@contextmanager
def _translate_os_errors(shown: str) -> Iterator[None]:
    """Turn OS errors into domain errors that name the user's path, never the host path."""
    try:
        yield
    except OSError as error:
        raise _domain_error(error, shown) from error


def _domain_error(error: OSError, shown: str) -> WorkspaceError:
    """The user-safe error for an OS error on the user path ``shown``.

    ``str(error)`` carries the host path, so it is never part of the message.
    """
    code = error.errno
    if code in (errno.ENOENT, errno.ENOTDIR):
        # ENOTDIR: a file where the path needs a folder ("notes.txt/x"): nothing there either.
        return WorkspaceFileNotFound(f"There is no file or folder '{shown}' in the workspace.")
    if code == errno.EISDIR:
        return NotAFile(f"'{shown}' is a folder, not a file.")
    if code == errno.ENAMETOOLONG:
        return InvalidPath("That path is longer than the filesystem allows.")
    if code == errno.ELOOP:
        # Only O_NOFOLLOW gets here: the resolved path became a symlink since resolution.
        return InvalidPath(f"'{shown}' changed while I was using it; try again.")
    if code in (errno.EACCES, errno.EPERM):
        return WorkspaceError(f"'{shown}' cannot be read: permission denied.")
    if code == errno.ENOSPC:
        return WorkspaceError("The workspace disk is full.")
    return WorkspaceError(f"'{shown}' cannot be used right now.")

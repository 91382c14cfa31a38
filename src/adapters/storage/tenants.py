"""The tenants' folders on disk: which tenants have data, how much, and adopting the data of a
workspace written before tenants existed.

Each tenant's workspace is ``<workspace>/servers/<tenant key>/``. Before tenancy everything lived
in the workspace itself; ``adopt`` moves it, by renames on the same file system (nothing is
copied, so nothing can be half-copied), into one tenant's folder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from trainerbot.adapters._fsutil import fsync_dir
from trainerbot.core.errors import TrainerbotError
from trainerbot.core.limits import human_bytes
from trainerbot.core.tenancy import Tenant
from trainerbot.core.text import plural

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantUsage:
    tenant: Tenant
    files: int
    bytes: int


@dataclass(frozen=True)
class Adopted:
    """What ``adopt`` moved into the tenant (names at the workspace's top level)."""

    tenant: Tenant
    moved: tuple[str, ...]
    files: int
    bytes: int

    def summary(self) -> str:
        if not self.moved:
            return "Nothing to adopt: the workspace holds no data outside its tenants' folders."
        return (
            f"Moved {plural(len(self.moved), 'item')} ({plural(self.files, 'file')}, "
            f"{human_bytes(self.bytes)}) into {self.tenant.describe()}: {', '.join(self.moved)}."
        )


def known_tenants(tenants_root: Path) -> list[Tenant]:
    """The tenants with a folder under ``tenants_root`` (anything else there is ignored)."""
    try:
        entries = sorted(os.scandir(tenants_root), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        tenant = Tenant.from_key(entry.name)
        if tenant is None:
            log.info("ignoring %s in the tenants' folder: not a tenant's name", entry.name)
            continue
        found.append(tenant)
    return found


def usage(folder: Path) -> tuple[int, int]:
    """Files and bytes below ``folder`` (symbolic links are not followed)."""
    files = size = 0
    for directory, _, names in os.walk(folder):
        for name in names:
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            files += 1
            size += info.st_size
    return files, size


def tenant_usage(tenants_root: Path) -> list[TenantUsage]:
    """Every tenant on disk with its files and bytes, the largest first."""
    found = []
    for tenant in known_tenants(tenants_root):
        files, size = usage(tenants_root / tenant.key)
        found.append(TenantUsage(tenant, files, size))
    return sorted(found, key=lambda u: (-u.bytes, u.tenant))


def legacy_items(workspace: Path, tenants_folder: str, kept: Collection[str] = ()) -> list[Path]:
    """What a workspace holds outside its tenants' folder: the data of a single-tenant release.
    Empty folders (the standard ones are made by any start), hidden files (``.env``, ``.git``:
    the operator's, never trainerbot's) and the names in ``kept`` (what serves every tenant: the
    records' database) do not count."""
    if not workspace.is_dir():
        return []
    items = []
    for entry in sorted(workspace.iterdir()):
        if entry.name == tenants_folder or entry.name.startswith(".") or entry.name in kept:
            continue
        if entry.is_dir() and not entry.is_symlink() and usage(entry)[0] == 0:
            continue
        items.append(entry)
    return items


def adopt(
    workspace: Path, tenants_folder: str, tenant: Tenant, kept: Collection[str] = ()
) -> Adopted:
    """Move everything in ``workspace`` but ``tenants_folder`` and the names in ``kept`` (see
    ``legacy_items``) into ``tenant``'s folder.

    Refused (one line, nothing moved) when that tenant already has data: merging two histories of
    records is not something to do silently. Safe to run again: a second run finds nothing.
    """
    items = legacy_items(workspace, tenants_folder, kept)
    target = workspace / tenants_folder / tenant.key
    if not items:
        return Adopted(tenant, (), 0, 0)
    if target.exists() and usage(target)[0] > 0:
        raise TrainerbotError(
            f"{tenant.describe().capitalize()} already has data: nothing was moved. Move "
            f"{tenants_folder}/{tenant.key} aside first, or adopt into another server."
        )
    target.mkdir(parents=True, exist_ok=True)
    files = size = 0
    moved = []
    for item in items:
        # A link is moved as a link: what it points to is not counted as moved.
        in_folder = item.is_dir() and not item.is_symlink()
        count, nbytes = usage(item) if in_folder else (1, item.lstat().st_size)
        destination = target / item.name
        if destination.exists():
            # An empty standard folder made by an earlier start: replaced by the data.
            if destination.is_dir() and usage(destination)[0] == 0:
                _remove_empty_tree(destination)
            else:
                raise TrainerbotError(f"{item.name} exists in both places: nothing more was moved.")
        os.replace(item, destination)
        files, size = files + count, size + nbytes
        moved.append(item.name + ("/" if destination.is_dir() else ""))
    fsync_dir(target)
    fsync_dir(workspace)
    return Adopted(tenant, tuple(moved), files, size)


def _remove_empty_tree(folder: Path) -> None:
    for directory, subfolders, _ in os.walk(folder, topdown=False):
        for name in subfolders:
            os.rmdir(os.path.join(directory, name))
    os.rmdir(folder)

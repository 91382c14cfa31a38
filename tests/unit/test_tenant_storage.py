"""The tenants' folders on disk (``adapters/storage/tenants.py``): which tenants have data, how
much, and adopting a workspace written before tenants (everything at its top level but
``servers/`` moved, by renames, into one tenant's folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trainerbot.adapters.storage.tenants import (
    Adopted,
    adopt,
    known_tenants,
    legacy_items,
    tenant_usage,
    usage,
)
from trainerbot.core.errors import TrainerbotError
from trainerbot.core.limits import human_bytes
from trainerbot.core.tenancy import Tenant
from tree_support import files

SERVERS = "servers"
STANDARD = ("datasets", "archives", "exports", "records")  # what any start makes, empty
T123 = Tenant.server(123)


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def entries(top: Path) -> set[str]:
    """Every name below ``top``, folders and links included (links not followed)."""
    return {
        str(Path(directory, name).relative_to(top))
        for directory, folders, names in os.walk(top)
        for name in [*folders, *names]
    }


def standard_folders(workspace: Path) -> None:
    for name in STANDARD:
        (workspace / name).mkdir(parents=True, exist_ok=True)


def legacy_workspace(workspace: Path) -> dict[str, bytes]:
    """A workspace as a release before tenants left it: records, models, datasets, a user folder
    and a loose file. Returns its files."""
    write(workspace / "records" / "interactions.jsonl", '{"id":"int-1"}\n')
    write(workspace / "records" / "corrections.jsonl", '{"id":"cor-1","corrected":"ü ✓"}\n')
    write(workspace / "records" / "models.jsonl", '{"id":"fewshot:x"}\n')
    write(workspace / "models" / "fewshot" / "x.zip", bytes(range(256)) * 40)
    write(workspace / "datasets" / "reviews" / "abc.jsonl", '{"messages":[]}\n')
    write(workspace / "datasets" / "reviews" / "current", "abc\n")
    write(workspace / "my data" / "deep" / "notes.txt", "mine")
    write(workspace / "README.txt", "")  # an empty file is data too
    (workspace / "exports").mkdir()  # empty: made by any start
    (workspace / "models" / ".training").mkdir()  # empty, inside a folder with data
    return files(workspace)


# --- known_tenants ---------------------------------------------------------------------------


def test_no_tenants_folder_means_no_tenants(tmp_path: Path) -> None:
    assert known_tenants(tmp_path / "missing") == []
    assert tenant_usage(tmp_path / "missing") == []


def test_known_tenants_are_the_folders_named_as_tenants(tmp_path: Path) -> None:
    root = tmp_path / SERVERS
    for name in ("123", "dm-45", "console", "98765432109876543210"):
        (root / name).mkdir(parents=True)
    # Not tenants: other names, a file named as a tenant, a link named as one.
    for name in ("junk", "dm-x", "0", "dm-0", "-1", "123456789012345678901", ".hidden", "1 2"):
        (root / name).mkdir()
    write(root / "555", "a file, not a tenant's folder")
    (tmp_path / "elsewhere").mkdir()
    (root / "777").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    assert known_tenants(root) == [
        Tenant.server(123),
        Tenant.server(98765432109876543210),
        Tenant.console(),
        Tenant.direct(45),
    ]


def test_a_folder_named_as_a_tenant_but_not_by_its_key_is_no_tenant(tmp_path: Path) -> None:
    root = tmp_path / SERVERS
    for name in ("0123", "dm-045", "00"):
        (root / name).mkdir(parents=True)

    assert known_tenants(root) == []


# --- tenant_usage ----------------------------------------------------------------------------


def test_tenant_usage_counts_each_tenants_files_and_bytes_largest_first(tmp_path: Path) -> None:
    root = tmp_path / SERVERS
    write(root / "123" / "records" / "a.jsonl", b"x" * 10)
    write(root / "123" / "datasets" / "d" / "b.jsonl", b"y" * 5)
    write(root / "dm-9" / "models" / "m.zip", b"z" * 100)
    standard_folders(root / "console")  # a tenant that started once and holds nothing
    write(root / "notes.txt", b"n" * 1000)  # not a tenant: not counted anywhere

    found = tenant_usage(root)

    assert [(u.tenant, u.files, u.bytes) for u in found] == [
        (Tenant.direct(9), 1, 100),
        (T123, 2, 15),
        (Tenant.console(), 0, 0),
    ]


def test_usage_does_not_follow_links_out_of_the_tenant(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "big.bin", b"b" * 100_000)
    write(outside / "sub" / "more.bin", b"m" * 100_000)
    tenant = tmp_path / SERVERS / "123"
    write(tenant / "own.txt", b"o" * 7)
    (tenant / "to-file").symlink_to(outside / "big.bin")
    (tenant / "to-folder").symlink_to(outside, target_is_directory=True)

    [found] = tenant_usage(tmp_path / SERVERS)

    # The link to a file counts as the link it is (its own few bytes), the link to a folder is
    # not walked: nothing of the 200 KB outside.
    assert found.files == 2
    assert found.bytes == 7 + len(str(outside / "big.bin"))


# --- legacy_items ----------------------------------------------------------------------------


def test_a_fresh_or_missing_workspace_has_nothing_from_before_tenants(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    assert legacy_items(workspace, SERVERS) == []
    standard_folders(workspace)
    (workspace / "models" / ".training").mkdir(parents=True)  # empty inside empty: still empty
    write(workspace / SERVERS / "123" / "records" / "a.jsonl", "tenants' data is not legacy")

    assert legacy_items(workspace, SERVERS) == []


def test_legacy_items_are_everything_with_data_outside_the_tenants_folder(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    legacy_workspace(workspace)
    (workspace / "archives").mkdir()  # empty standard folder: skipped
    write(workspace / SERVERS / "456" / "x.txt", "another tenant")
    (workspace / "link").symlink_to(tmp_path, target_is_directory=True)  # a link is kept as is

    names = [item.name for item in legacy_items(workspace, SERVERS)]

    assert names == ["README.txt", "datasets", "link", "models", "my data", "records"]


DATABASE = ("records.sqlite3", "records.sqlite3-wal", "records.sqlite3-shm")


def test_what_serves_every_tenant_is_no_data_from_before_tenants(tmp_path: Path) -> None:
    """The records' database at the top of the workspace holds every tenant's rows: ``kept``."""
    workspace = tmp_path / "ws"
    for name in DATABASE:
        write(workspace / name, b"SQLite format 3\x00")

    assert legacy_items(workspace, SERVERS, kept=DATABASE) == []
    assert adopt(workspace, SERVERS, T123, kept=DATABASE) == Adopted(T123, (), 0, 0)

    before = {n: data for n, data in legacy_workspace(workspace).items() if n not in DATABASE}
    adopted = adopt(workspace, SERVERS, T123, kept=DATABASE)

    assert "records.sqlite3" not in " ".join(adopted.moved)
    assert files(workspace / SERVERS / "123") == before
    assert sorted(p.name for p in workspace.iterdir()) == sorted([*DATABASE, "exports", SERVERS])


# --- adopt -----------------------------------------------------------------------------------


def test_adopt_moves_every_file_into_the_tenant_byte_for_byte(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    before = legacy_workspace(workspace)

    adopted = adopt(workspace, SERVERS, T123)

    target = workspace / SERVERS / "123"
    assert files(target) == before  # every file, same path below the tenant, same bytes
    assert files(workspace / SERVERS) == {f"123/{name}": data for name, data in before.items()}
    # Left at the top: the tenants' folder, and the empty folder that was not worth moving.
    assert sorted(p.name for p in workspace.iterdir()) == ["exports", SERVERS]
    assert (target / "models" / ".training").is_dir()  # empty folders inside moved ones go along
    assert adopted.tenant == T123
    assert adopted.moved == ("README.txt", "datasets/", "models/", "my data/", "records/")
    assert adopted.files == len(before)
    assert adopted.bytes == sum(len(data) for data in before.values())
    assert adopted.summary() == (
        f"Moved 5 items ({len(before)} files, {human_bytes(adopted.bytes)}) into server 123: "
        "README.txt, datasets/, models/, my data/, records/."
    )
    assert "\n" not in adopted.summary()


def test_adopt_again_finds_nothing_and_changes_nothing(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    legacy_workspace(workspace)
    adopt(workspace, SERVERS, T123)
    after_first = entries(workspace)
    contents = files(workspace)

    again = adopt(workspace, SERVERS, T123)
    elsewhere = adopt(workspace, SERVERS, Tenant.server(456))

    for result in (again, elsewhere):
        assert result.moved == ()
        assert (result.files, result.bytes) == (0, 0)
        assert result.summary().startswith("Nothing to adopt")
    assert entries(workspace) == after_first
    assert files(workspace) == contents
    assert not (workspace / SERVERS / "456").exists()  # no folder made for nothing


def test_adopt_on_a_fresh_workspace_makes_no_tenant_folder(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    standard_folders(workspace)

    assert adopt(workspace, SERVERS, T123) == Adopted(T123, (), 0, 0)
    assert not (workspace / SERVERS).exists()


def test_adopt_refuses_a_tenant_that_has_data_and_moves_nothing(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    legacy_workspace(workspace)
    write(workspace / SERVERS / "123" / "records" / "jobs.jsonl", '{"id":"job-1"}\n')
    before = entries(workspace)
    contents = files(workspace)

    with pytest.raises(TrainerbotError) as refused:
        adopt(workspace, SERVERS, T123)

    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("Server 123 already has data: nothing was moved.")
    assert f"{SERVERS}/123" in message  # what to move aside
    assert entries(workspace) == before
    assert files(workspace) == contents


def test_adopt_refuses_a_tenant_whose_only_data_is_an_empty_file(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    legacy_workspace(workspace)
    write(workspace / SERVERS / "123" / "records" / "settings.jsonl", "")
    before = entries(workspace)

    with pytest.raises(TrainerbotError, match="already has data"):
        adopt(workspace, SERVERS, T123)
    assert entries(workspace) == before


def test_adopt_fills_a_tenant_that_holds_only_the_empty_folders_of_a_start(tmp_path: Path) -> None:
    """A start in that server before the adoption made its empty standard folders: they are
    replaced by the data, not merged with it or refused."""
    workspace = tmp_path / "ws"
    before = legacy_workspace(workspace)
    target = workspace / SERVERS / "123"
    standard_folders(target)
    (target / "records" / "empty-sub").mkdir()

    adopt(workspace, SERVERS, T123)

    assert files(target) == before
    assert not (target / "records" / "empty-sub").exists()
    assert (target / "archives").is_dir()  # a standard folder with no counterpart stays


def test_adopt_leaves_the_other_tenants_alone(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    before = legacy_workspace(workspace)
    others = {
        "456/records/interactions.jsonl": b'{"id":"int-456"}\n',
        "dm-7/models/m.zip": b"zip",
        "console/records/jobs.jsonl": b"{}\n",
    }
    for name, data in others.items():
        write(workspace / SERVERS / name, data)

    adopt(workspace, SERVERS, T123)

    assert files(workspace / SERVERS) == others | {f"123/{n}": d for n, d in before.items()}


def test_adopt_moves_a_link_as_a_link_and_touches_nothing_it_points_at(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    outside = tmp_path / "outside"
    write(outside / "kept.txt", "outside the workspace")
    write(workspace / "records" / "a.jsonl", "{}\n")
    (workspace / "shared").symlink_to(outside, target_is_directory=True)
    (workspace / "dangling").symlink_to(tmp_path / "gone")

    adopt(workspace, SERVERS, T123)

    target = workspace / SERVERS / "123"
    assert os.readlink(target / "shared") == str(outside)
    assert os.readlink(target / "dangling") == str(tmp_path / "gone")
    assert files(outside) == {"kept.txt": b"outside the workspace"}
    assert sorted(p.name for p in workspace.iterdir()) == [SERVERS]


@pytest.mark.parametrize(
    ("tenant", "folder", "described"),
    [
        (Tenant.direct(42), "dm-42", "direct messages of user 42"),
        (Tenant.console(), "console", "the console"),
    ],
)
def test_adopt_into_any_kind_of_tenant(
    tmp_path: Path, tenant: Tenant, folder: str, described: str
) -> None:
    workspace = tmp_path / "ws"
    before = legacy_workspace(workspace)

    adopted = adopt(workspace, SERVERS, tenant)

    assert files(workspace / SERVERS / folder) == before
    assert f"into {described}: " in adopted.summary()


def test_usage_counts_files_and_bytes_below_a_folder(tmp_path: Path) -> None:
    write(tmp_path / "a" / "b" / "c.bin", b"1234")
    write(tmp_path / "a" / "d.bin", b"")
    (tmp_path / "a" / "empty").mkdir()

    assert usage(tmp_path / "a") == (2, 4)
    assert usage(tmp_path / "missing") == (0, 0)

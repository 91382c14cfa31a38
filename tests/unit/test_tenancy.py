"""Tenants: who a request belongs to (``Tenant``), and the bounded set kept loaded
(``TenantRegistry``)."""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass, field

import pytest

from trainerbot.core.errors import InvalidArgument
from trainerbot.core.tenancy import Tenant, TenantKind, TenantRegistry

# --- Tenant ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "key", "kind"),
    [
        (Tenant.server(123456789012345678), "123456789012345678", TenantKind.SERVER),
        (Tenant.server("42"), "42", TenantKind.SERVER),
        (Tenant.server(" 42 "), "42", TenantKind.SERVER),
        (Tenant.server("0042"), "42", TenantKind.SERVER),  # leading zeros: one tenant, one key
        (Tenant.server("9" * 20), "9" * 20, TenantKind.SERVER),  # the longest snowflake
        (Tenant.direct(987654321), "dm-987654321", TenantKind.DIRECT),
        (Tenant.direct("007"), "dm-7", TenantKind.DIRECT),
        (Tenant.console(), "console", TenantKind.CONSOLE),
    ],
)
def test_each_kind_of_tenant_has_a_folder_safe_key(
    tenant: Tenant, key: str, kind: TenantKind
) -> None:
    assert tenant.key == key
    assert tenant.kind is kind
    assert str(tenant) == key
    assert key.replace("dm-", "").isalnum()  # digits, the fixed prefix, or the fixed word
    assert tenant.is_server is (kind is TenantKind.SERVER)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123", Tenant.server(123)),
        ("  0123 ", Tenant.server(123)),
        ("dm-55", Tenant.direct(55)),
        ("dm-0055", Tenant.direct(55)),
        ("console", Tenant.console()),
        (" console\n", Tenant.console()),
    ],
)
def test_parse_reads_a_tenant_as_an_operator_names_it(text: str, expected: Tenant) -> None:
    assert Tenant.parse(text) == expected
    # What parse reads back from a key is the same tenant.
    assert Tenant.parse(expected.key) == expected


@pytest.mark.parametrize(
    "text",
    [
        "../x",
        "..",
        "",
        "   ",
        "0",
        "000",
        "1" * 21,  # 21 digits: no Discord id is that long
        "dm-abc",
        "dm-",
        "dm-0",
        "dm-../x",
        "-5",
        "+5",
        "1e9",
        "12 34",
        "１２３",  # full-width digits are not a Discord id
        "Console",
        "server-1",
        "1/2",
    ],
)
def test_parse_refuses_anything_but_an_id_dm_id_or_console_in_one_line(text: str, refuses) -> None:
    with refuses(InvalidArgument) as caught:
        Tenant.parse(text)
    assert "Discord id" in str(caught.value)
    assert "../" not in str(caught.value)  # what was typed is not echoed back


@pytest.mark.parametrize("value", [0, -1, 10**20, "../x", "", "abc"])
def test_server_and_direct_refuse_what_is_not_a_discord_id(value: int | str, refuses) -> None:
    with refuses(InvalidArgument):
        Tenant.server(value)
    with refuses(InvalidArgument):
        Tenant.direct(value)


def test_tenants_are_equal_by_value_hashable_and_ordered() -> None:
    assert Tenant.server(7) == Tenant.server("007")
    assert hash(Tenant.server(7)) == hash(Tenant.parse("7"))
    assert Tenant.server(7) != Tenant.direct(7)
    assert len({Tenant.server(7), Tenant.server("7"), Tenant.direct(7), Tenant.console()}) == 3
    mixed = [Tenant.console(), Tenant.direct(2), Tenant.server(20), Tenant.server(3)]
    # Ordered by key (a stable listing for operators): digits before "console" and "dm-".
    assert [t.key for t in sorted(mixed)] == ["20", "3", "console", "dm-2"]


def test_describe_says_whose_data_it_is() -> None:
    assert Tenant.server(5).describe() == "server 5"
    assert Tenant.direct(6).describe() == "direct messages of user 6"
    assert Tenant.console().describe() == "the console"


# --- TenantRegistry ----------------------------------------------------------------------------


@dataclass(eq=False)
class Scope:
    """A stand-in for a TenantScope: any object that can be weakly referenced."""

    tenant: Tenant
    serial: int


@dataclass
class Builder:
    """Builds a ``Scope`` and records each build; ``delay`` makes building slow."""

    delay: float = 0.0
    builds: list[Tenant] = field(default_factory=list)

    def __call__(self, tenant: Tenant) -> Scope:
        if self.delay:
            time.sleep(self.delay)
        self.builds.append(tenant)
        return Scope(tenant, len(self.builds))


def server(number: int) -> Tenant:
    return Tenant.server(number)


def test_a_scope_is_built_on_first_use_and_only_once() -> None:
    builder = Builder()
    sut = TenantRegistry(builder, max_loaded=4)
    assert builder.builds == []
    assert sut.built == 0
    assert sut.loaded == 0

    first = sut.get(server(1))
    again = sut.get(server(1))

    assert first is again
    assert first.tenant == server(1)
    assert builder.builds == [server(1)]
    assert sut.built == 1
    assert sut.loaded == 1
    assert sut.loaded_tenants() == [server(1)]


def test_keeps_at_most_max_loaded_and_drops_the_least_recently_used() -> None:
    builder = Builder()
    sut = TenantRegistry(builder, max_loaded=3)
    for number in (1, 2, 3):
        sut.get(server(number))
    sut.get(server(1))  # 1 is now the most recently used: 2 goes first

    sut.get(server(4))
    gc.collect()

    assert sut.loaded == 3
    assert sut.loaded_tenants() == sorted([server(1), server(3), server(4)])
    # 1, 3 and 4 are kept: using them again builds nothing.
    for number in (1, 3, 4):
        sut.get(server(number))
    assert sut.built == 4
    # 2 was dropped and nothing held it: it is built again (and 1, least recent now, drops).
    sut.get(server(2))
    assert sut.built == 5
    assert builder.builds == [server(1), server(2), server(3), server(4), server(2)]
    assert sut.loaded == 3


def test_a_dropped_scope_still_in_use_is_returned_again_not_rebuilt() -> None:
    builder = Builder()
    sut = TenantRegistry(builder, max_loaded=1)
    in_use = sut.get(server(1))  # e.g. a command still being answered holds it
    sut.get(server(2))  # drops 1 from the registry
    gc.collect()

    assert sut.loaded == 2  # 2 kept, and 1 still alive where it is used
    assert set(sut.loaded_tenants()) == {server(1), server(2)}
    assert sut.get(server(1)) is in_use  # one tenant never has two sets of stores
    assert sut.built == 2
    assert builder.builds == [server(1), server(2)]


def test_a_dropped_scope_no_longer_in_use_is_rebuilt_fresh() -> None:
    builder = Builder()
    sut = TenantRegistry(builder, max_loaded=1)
    first_serial = sut.get(server(1)).serial  # nothing keeps the scope itself
    sut.get(server(2))
    gc.collect()

    assert sut.loaded == 1
    assert sut.loaded_tenants() == [server(2)]
    rebuilt = sut.get(server(1))
    assert rebuilt.serial != first_serial
    assert sut.built == 3
    assert builder.builds == [server(1), server(2), server(1)]


def test_without_a_limit_every_scope_is_kept() -> None:
    builder = Builder()
    sut = TenantRegistry(builder, max_loaded=None)
    serials = {number: sut.get(server(number)).serial for number in range(1, 201)}
    gc.collect()

    assert sut.loaded == 200
    assert all(sut.get(server(n)).serial == serials[n] for n in range(1, 201))
    assert sut.built == 200


def test_a_limit_of_one_works_and_below_one_is_refused() -> None:
    sut = TenantRegistry(Builder(), max_loaded=1)
    sut.get(server(1))
    sut.get(server(1))
    assert sut.built == 1
    with pytest.raises(ValueError, match="at least 1"):
        TenantRegistry(Builder(), max_loaded=0)


def test_different_kinds_of_tenant_with_the_same_number_are_different_scopes() -> None:
    sut = TenantRegistry(Builder(), max_loaded=8)
    guild, direct = sut.get(Tenant.server(5)), sut.get(Tenant.direct(5))
    assert guild is not direct
    assert (guild.tenant, direct.tenant) == (Tenant.server(5), Tenant.direct(5))
    assert sut.get(Tenant.parse("0005")) is guild


def test_a_failed_build_is_not_kept_and_is_tried_again() -> None:
    calls: list[Tenant] = []

    def build(tenant: Tenant) -> Scope:
        calls.append(tenant)
        if len(calls) == 1:
            raise OSError("disk hiccup")
        return Scope(tenant, len(calls))

    sut = TenantRegistry(build, max_loaded=2)
    with pytest.raises(OSError, match="hiccup"):
        sut.get(server(1))
    assert sut.loaded == 0
    assert sut.built == 0
    assert sut.get(server(1)).serial == 2
    assert sut.built == 1


def test_threads_asking_for_the_same_tenant_at_once_get_one_scope_built_once() -> None:
    builder = Builder(delay=0.02)  # slow enough that unguarded threads would all build
    sut = TenantRegistry(builder, max_loaded=2)
    start = threading.Barrier(8)
    got: list[Scope] = []
    lock = threading.Lock()

    def ask() -> None:
        start.wait()
        scope = sut.get(server(1))
        with lock:
            got.append(scope)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(got) == 8
    assert all(scope is got[0] for scope in got)
    assert builder.builds == [server(1)]
    assert sut.built == 1


def test_threads_churning_many_tenants_never_exceed_the_limit_nor_build_a_held_tenant_twice() -> (
    None
):
    builder = Builder()
    sut = TenantRegistry(builder, max_loaded=3)
    held = sut.get(server(999))  # held all along: must never be built again
    errors: list[BaseException] = []

    def churn(offset: int) -> None:
        try:
            for round_ in range(200):
                scope = sut.get(server(1 + (offset + round_) % 10))
                assert scope.tenant == server(1 + (offset + round_) % 10)
                if round_ % 7 == 0:
                    assert sut.get(server(999)) is held
        except BaseException as error:  # reported below, on the main thread
            errors.append(error)

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    gc.collect()

    assert errors == []
    assert builder.builds.count(server(999)) == 1
    assert sut.loaded <= 3 + 1  # the registry's three, and the one held here


@pytest.mark.parametrize(
    ("key", "tenant"),
    [
        ("123456789012345678", Tenant.server(123456789012345678)),
        ("dm-42", Tenant.direct(42)),
        ("console", Tenant.console()),
        ("0123", None),  # would read as server 123: not that tenant's key
        (" 42", None),
        ("dm-0", None),
        ("workspace", None),
        ("../etc", None),
    ],
)
def test_a_key_names_exactly_one_tenant_or_none(key: str, tenant: Tenant | None) -> None:
    assert Tenant.from_key(key) == tenant

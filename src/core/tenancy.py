"""Tenants: whose data a request touches, and the bounded set of tenants kept loaded.

Every Discord server is a tenant; so is each member's direct messages with the bot, and the
operator's console. A tenant owns all of its data — datasets, uploads, archives, exports, trained
models, jobs, interactions, corrections, feedback, its active model and its settings — and a
request reaches nothing else: the front ends resolve the tenant of every message first, then act
through that tenant's use cases, which are built over that tenant's stores alone. An id from one
tenant (a model, a job, an answer, a path) is therefore simply unknown in another.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from .errors import InvalidArgument
from .use_cases import UseCases

# Discord snowflakes are 64-bit integers: at most 20 digits.
_SNOWFLAKE = re.compile(r"[0-9]{1,20}")
CONSOLE = "console"
DIRECT_PREFIX = "dm-"


class TenantKind(StrEnum):
    SERVER = "server"  # a Discord server (guild)
    DIRECT = "direct"  # one member's direct messages with the bot
    CONSOLE = "console"  # the operator's terminal, when it names no server


@dataclass(frozen=True, order=True)
class Tenant:
    """Whose data: ``Tenant.server(guild_id)``, ``Tenant.direct(user_id)`` or ``Tenant.console()``.

    ``key`` is also the tenant's folder name (``123456789``, ``dm-987654321``, ``console``): only
    digits, a fixed prefix or a fixed word, so it can never name a path elsewhere.
    """

    key: str
    kind: TenantKind

    @classmethod
    def server(cls, guild_id: int | str) -> Tenant:
        return cls(_snowflake(guild_id, "server"), TenantKind.SERVER)

    @classmethod
    def direct(cls, user_id: int | str) -> Tenant:
        return cls(DIRECT_PREFIX + _snowflake(user_id, "user"), TenantKind.DIRECT)

    @classmethod
    def console(cls) -> Tenant:
        return cls(CONSOLE, TenantKind.CONSOLE)

    @classmethod
    def parse(cls, text: str) -> Tenant:
        """A tenant as an operator names it: a server id, ``dm-<user id>`` or ``console``."""
        value = text.strip()
        if value == CONSOLE:
            return cls.console()
        if value.startswith(DIRECT_PREFIX):
            return cls.direct(value.removeprefix(DIRECT_PREFIX))
        return cls.server(value)

    @classmethod
    def from_key(cls, key: str) -> Tenant | None:
        """The tenant whose key is exactly ``key`` (a folder's name, a queued job's tenant);
        None for anything else — "0123" is not server 123's key."""
        try:
            tenant = cls.parse(key)
        except InvalidArgument:
            return None
        return tenant if tenant.key == key else None

    @property
    def is_server(self) -> bool:
        return self.kind is TenantKind.SERVER

    def describe(self) -> str:
        if self.kind is TenantKind.SERVER:
            return f"server {self.key}"
        if self.kind is TenantKind.DIRECT:
            return f"direct messages of user {self.key.removeprefix(DIRECT_PREFIX)}"
        return "the console"

    def __str__(self) -> str:
        return self.key


def _snowflake(value: int | str, what: str) -> str:
    text = str(value).strip()
    if not _SNOWFLAKE.fullmatch(text) or int(text) == 0:
        raise InvalidArgument(f"A {what} id is a Discord id: a number of up to 20 digits.")
    return str(int(text))  # no leading zeros: one tenant, one key


@dataclass(eq=False)
class TenantScope:
    """One tenant's use cases, over its own stores. ``resources`` is whatever built them (kept
    alive as long as the scope is)."""

    tenant: Tenant
    use_cases: UseCases
    resources: object = None


S = TypeVar("S")


class TenantRegistry(Generic[S]):
    """Each tenant's scope (its use cases over its stores), built on first use, bounded in memory.

    Rules:
    - ``get(tenant)`` returns the tenant's scope, building it with ``build`` the first time.
    - At most ``max_loaded`` scopes are kept by the registry (least recently used dropped first;
      ``None``: all of them — for in-memory storage, where a dropped scope would be lost data).
    - A scope that is still in use somewhere (a command being answered, a job being followed —
      anything holding the scope object) is the one ``get`` returns, even after it was dropped:
      one tenant never has two sets of stores at once, so nothing one writes is unseen by the
      other. Whoever uses a scope for a while keeps a reference to it for that while.
    - Thread-safe: the console's one-shot commands and the bot may share a registry.
    """

    def __init__(self, build: Callable[[Tenant], S], *, max_loaded: int | None) -> None:
        if max_loaded is not None and max_loaded < 1:
            raise ValueError("max_loaded must be at least 1")
        self._build = build
        self._max = max_loaded
        self._recent: OrderedDict[Tenant, S] = OrderedDict()
        self._alive: weakref.WeakValueDictionary[Tenant, S] = weakref.WeakValueDictionary()
        self._lock = threading.RLock()
        self.built = 0  # how many scopes were built in all (a tenant dropped and used again: 2)

    def get(self, tenant: Tenant) -> S:
        with self._lock:
            scope = self._recent.get(tenant)
            if scope is None:
                scope = self._alive.get(tenant)
            if scope is None:
                scope = self._build(tenant)
                self.built += 1
                self._alive[tenant] = scope
            self._recent[tenant] = scope
            self._recent.move_to_end(tenant)
            while self._max is not None and len(self._recent) > self._max:
                self._recent.popitem(last=False)
            return scope

    @property
    def loaded(self) -> int:
        """How many scopes are alive now (kept by the registry, or still in use)."""
        with self._lock:
            return len({id(s) for s in (*self._recent.values(), *self._alive.values())})

    def loaded_tenants(self) -> list[Tenant]:
        with self._lock:
            return sorted({*self._recent, *self._alive.keys()})

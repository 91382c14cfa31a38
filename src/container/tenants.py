"""Tenants: each server (and each member's direct messages, and the console) has its own
workspace and stores, built from the root container on first use.

Rules:
- A tenant's container is a ``Container`` over ``<workspace>/servers/<tenant key>``
  (``tenant_workspace``), the root's settings otherwise.
- It shares the root's ``SHARED`` providers — the models, engines and clients (loaded once per
  process), the rate limit (per member, wherever they speak), the gate of lora training — and
  whatever a test or a program overrode in the root (an override applies to every tenant).
  Everything else — the workspace, the records, the trained models, the use cases over them — is
  its own.
- Nothing in the root refers to a tenant's container: once the registry drops a tenant and nobody
  uses it, it is freed with its stores and worker threads (see ``tenant_container``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

from dependency_injector import providers
from pydantic import SecretStr

from trainerbot.adapters.storage.tenants import Adopted, adopt, known_tenants, legacy_items
from trainerbot.config import Settings
from trainerbot.core.errors import TrainerbotError
from trainerbot.core.tenancy import Tenant, TenantRegistry, TenantScope
from trainerbot.core.use_cases import UseCases

from .storage import DATASETS_FOLDER, RECORDS_FOLDER, TENANTS_FOLDER, database_files

if TYPE_CHECKING:
    from .composition import Container

log = logging.getLogger(__name__)

# The root container's providers (by name) that every tenant shares with it.
SHARED = (
    "limits",
    "openai_client",
    "embeddings",
    "embedded_llama",
    "base_chat_model",
    "openai_trainer",
    "lora_gate",
    "audio_converter",
    "speech_to_text",
    "espeak",
    "text_to_speech",
    "voice_output",
    "charts",
    "token_counter",
    "rate_limit",
    "database",
    "training_queue",
)
# What each container has of its own: its settings, itself, its tenants.
_NOT_DELEGATED = frozenset({"settings", "__self__", "tenants", "tenant"})


def tenant_workspace(settings: Settings, tenant: Tenant) -> Path:
    """Where ``tenant``'s files live: ``<workspace>/servers/<tenant key>``."""
    return settings.workspace / TENANTS_FOLDER / tenant.key


def shared_files(settings: Settings) -> frozenset[str]:
    """The names at the workspace's top level that serve every tenant (the records' SQLite
    database): never a workspace's data from before tenants, never adopted."""
    return frozenset(Path(name).parts[0] for name in database_files(settings))


def adoption_target(settings: Settings) -> Tenant | None:
    """The server whose data a workspace from before tenants becomes when the bot starts
    (``Tenants.adopt_if_one_server``): the one server in ``TRAINERBOT_DISCORD_GUILDS``, when the
    workspace's ``records/`` hold files (``adopt`` still refuses a server with data of its own).
    None otherwise."""
    if settings.storage != "filesystem" or len(settings.discord_guilds) != 1:
        return None
    items = legacy_items(settings.workspace, TENANTS_FOLDER, shared_files(settings))
    if not any(item.name == RECORDS_FOLDER and item.is_dir() for item in items):
        return None  # not trainerbot's data: an operator's files are not moved by surprise
    (guild,) = settings.discord_guilds
    return Tenant.server(guild)


def tenant_container(root: Container, tenant: Tenant) -> Container:
    """A container for ``tenant``: its own workspace and stores under ``tenant_workspace``, and
    the root's shared providers (``SHARED``), plus whatever a test or a program overrode in the
    root (an override applies to every tenant)."""
    # The root's own class; imported here because that module declares Tenants.
    from .composition import Container

    settings: Settings = root.settings()
    update: dict[str, object] = {"workspace": tenant_workspace(settings, tenant)}
    if settings.records_adapter == "sql" and settings.database_url is None:
        # The records' database is the configured workspace's own file, shared by every tenant
        # (never one in the tenant's folder, as its own workspace would make of no URL).
        update["database_url"] = SecretStr(settings.database_url_value)
    child = Container(settings=settings.model_copy(update=update))
    for name, provider in root.providers.items():
        if name in _NOT_DELEGATED:
            continue
        if name in SHARED or provider.overridden:
            # Through a wrapper of its own: overriding with the root's provider itself would make
            # the root keep a reference to every tenant's provider (and so its whole container)
            # for as long as the process lives.
            getattr(child, name).override(providers.Callable(_same, provider))
    # Whose records its stores hold, in a database that every tenant shares.
    child.tenant.override(providers.Object(tenant.key))
    return child


def _same(value: object) -> object:
    return value


def _holds_a_file(folder: Path) -> bool:
    """Whether ``folder`` or a folder below it holds a file (links not followed)."""
    return any(names for _, _, names in os.walk(folder))


class Tenants:
    """Every tenant's use cases, built from the root container on first use and kept within
    ``TRAINERBOT_MAX_LOADED_TENANTS`` (see ``TenantRegistry``; with storage=memory all are kept:
    nothing could be loaded again)."""

    def __init__(self, root: Container) -> None:
        self._root = root
        settings: Settings = root.settings()
        limit = None if settings.storage == "memory" else settings.max_loaded_tenants
        self.registry: TenantRegistry[TenantScope] = TenantRegistry(self._build, max_loaded=limit)

    def scope(self, tenant: Tenant) -> TenantScope:
        return self.registry.get(tenant)

    def known(self) -> list[Tenant]:
        """The tenants that have data: on disk, or (storage=memory) those used so far."""
        settings: Settings = self._root.settings()
        if settings.storage == "memory":
            return self.registry.loaded_tenants()
        return known_tenants(settings.workspace / TENANTS_FOLDER)

    def with_jobs(self) -> list[Tenant]:
        """The tenants that ever started a training job (whose unfinished jobs a restarted bot
        follows again): found on disk without loading any tenant. With the jobs in JSON Lines
        files, those with a ``jobs.jsonl``; with the jobs in a database, those with a saved
        dataset (``!train`` saves its dataset in ``datasets/`` before it records the job)."""
        settings: Settings = self._root.settings()
        if settings.storage == "memory":
            return self.known()
        root = settings.workspace / TENANTS_FOLDER
        if settings.records_adapter == "sql":
            return [t for t in known_tenants(root) if _holds_a_file(root / t.key / DATASETS_FOLDER)]
        return [
            tenant
            for tenant in known_tenants(root)
            if (root / tenant.key / RECORDS_FOLDER / "jobs.jsonl").is_file()
        ]

    def adopt(self, tenant: Tenant) -> Adopted:
        """Move a single-tenant workspace's data (from before tenants) into ``tenant``."""
        settings: Settings = self._root.settings()
        return adopt(settings.workspace, TENANTS_FOLDER, tenant, shared_files(settings))

    def adopt_if_one_server(self) -> Adopted | None:
        """With exactly one server configured (``TRAINERBOT_DISCORD_GUILDS``), a workspace from
        before tenants (its ``records/`` hold files) becomes that server's. None when there is
        nothing to do, or when it cannot be done (logged: the bot starts anyway, and
        ``trainerbot adopt`` says why)."""
        target = adoption_target(self._root.settings())
        if target is None:
            return None
        try:
            return self.adopt(target)
        except TrainerbotError as error:
            log.warning("the workspace's data from before tenants was not adopted: %s", error)
            return None

    def use_cases(self, tenant: Tenant) -> UseCases:
        return self.scope(tenant).use_cases

    def container(self, tenant: Tenant) -> Container:
        # A DeclarativeContainer's instances are DynamicContainers: no isinstance check to make.
        return cast("Container", self.scope(tenant).resources)

    def _build(self, tenant: Tenant) -> TenantScope:
        child = tenant_container(self._root, tenant)
        return TenantScope(tenant=tenant, use_cases=child.use_cases(), resources=child)

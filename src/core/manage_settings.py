"""ManageSettings: a tenant's own settings — its persona (system prompt) and its trainer role.

Also ``IdentifyMember``: who a member is in this tenant (may they train here?), decided once, here,
for every front end.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from trainerbot.ports import ModelRegistry, SettingsStore

from .access import require_trainer
from .entities import Actor
from .errors import InvalidArgument
from .limits import DEFAULT_LIMITS, Limits

RESET = "reset"
# Discord allows role names of up to 100 characters.
MAX_ROLE_CHARS = 100


@dataclass(frozen=True)
class Member:
    """Someone speaking to the bot, as the front end knows them: in a server (with its role names
    and whether they administer it) or in direct messages."""

    id: str
    name: str
    in_server: bool
    roles: frozenset[str] = frozenset()
    administrator: bool = False


class IdentifyMember:
    """The actor a member is in this tenant.

    Rules: an owner (``TRAINERBOT_OWNER_IDS``) is a trainer wherever they speak, and still acts
    inside the tenant they speak in. Otherwise only in a server: its administrators, and members
    holding the tenant's trainer role (``!settings trainer_role=…``, else the configured name).
    Nobody else — in direct messages, nobody but an owner.
    """

    def __init__(
        self, *, settings: SettingsStore, default_trainer_role: str, owners: frozenset[str]
    ) -> None:
        self._settings = settings
        self._default_role = default_trainer_role
        self._owners = owners

    async def trainer_role(self) -> str:
        return (await self._settings.get()).trainer_role or self._default_role

    async def execute(self, member: Member) -> Actor:
        if member.id in self._owners:
            trainer = True
        elif not member.in_server:
            trainer = False
        else:
            trainer = member.administrator or await self.trainer_role() in member.roles
        return Actor(id=member.id, name=member.name, can_train=trainer)


async def system_prompt(settings: SettingsStore | None, default: str | None) -> str | None:
    """The tenant's persona, or the configured system prompt."""
    if settings is None:
        return default
    return (await settings.get()).persona or default


@dataclass(frozen=True)
class SettingsRequest:
    """Nothing to change: show the settings. ``persona``/``trainer_role``: set it (``reset``: back
    to the configured default)."""

    actor: Actor
    persona: str | None = None
    trainer_role: str | None = None


@dataclass(frozen=True)
class SettingsResult:
    persona: str
    persona_is_default: bool
    trainer_role: str
    trainer_role_is_default: bool
    active_model: str
    active_is_default: bool
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemberView:
    """Who someone is in this tenant (``!whoami``)."""

    id: str
    name: str
    can_train: bool
    trainer_role: str
    active_model: str


class ManageSettings:
    """Show or change this tenant's settings.

    Rules: trainers only. The persona is the system prompt this tenant's answers (and the lora
    models trained here) use, at most ``max_message_chars`` characters; the trainer role names the
    role whose members may train here (1–100 characters, one line). ``reset`` returns either to the
    configured default. Each change is stored in the tenant, survives restarts, and takes effect
    with the next message. The active model (``!use``) is shown too.
    """

    def __init__(
        self,
        *,
        settings: SettingsStore,
        models: ModelRegistry,
        default_model: str,
        default_persona: str,
        default_trainer_role: str,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._settings = settings
        self._models = models
        self._default_model = default_model
        self._default_persona = default_persona
        self._default_role = default_trainer_role
        self._limits = limits

    async def execute(self, request: SettingsRequest) -> SettingsResult:
        require_trainer(request.actor)
        current = await self._settings.get()
        updated, changed = current, []
        if request.persona is not None:
            updated = replace(updated, persona=self._persona(request.persona))
            changed.append("persona")
        if request.trainer_role is not None:
            updated = replace(updated, trainer_role=_role(request.trainer_role))
            changed.append("trainer role")
        if updated != current:
            await self._settings.save(updated)
        active = await self._models.active()
        return SettingsResult(
            persona=updated.persona or self._default_persona,
            persona_is_default=updated.persona is None,
            trainer_role=updated.trainer_role or self._default_role,
            trainer_role_is_default=updated.trainer_role is None,
            active_model=active or self._default_model,
            active_is_default=active is None or active == self._default_model,
            changed=tuple(changed),
        )

    async def whoami(self, actor: Actor) -> MemberView:
        """Who ``actor`` is here: open to everyone, it shows only what concerns them (whether
        they may train, the role that would let them, the model that answers them)."""
        role = (await self._settings.get()).trainer_role or self._default_role
        active = await self._models.active()
        return MemberView(
            actor.id, actor.name, actor.can_train, role, active or self._default_model
        )

    def _persona(self, text: str) -> str | None:
        value = text.strip()
        if not value:
            raise InvalidArgument("Give the new persona, or 'reset' for the default.")
        if value.casefold() == RESET:
            return None
        limit = self._limits.max_message_chars
        if len(value) > limit:
            raise InvalidArgument(f"That persona is {len(value)} characters; the limit is {limit}.")
        return value


def _role(text: str) -> str | None:
    value = text.strip()
    if value.casefold() == RESET:
        return None
    if not value or len(value) > MAX_ROLE_CHARS or not value.isprintable():
        raise InvalidArgument(
            f"A trainer role is a role name of 1-{MAX_ROLE_CHARS} characters on one line."
        )
    return value

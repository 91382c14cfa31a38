"""Who may do what: the trainer role guards everything that trains, tests or touches the workspace."""

from __future__ import annotations

from .entities import Actor
from .errors import PermissionDenied

# The bot itself, acting on its own behalf: following the jobs it was running before a restart.
BOT = Actor(id="trainerbot", name="trainerbot", can_train=True)
# The machine's owner, at the console: a trainer.
OWNER = Actor(id="console", name="console user", can_train=True)


def require_trainer(actor: Actor) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` has the trainer role (or is an administrator)."""
    if not actor.can_train:
        raise PermissionDenied()

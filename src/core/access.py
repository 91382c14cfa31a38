"""Who may do what: the trainer role guards everything that trains, tests or touches the workspace."""

from __future__ import annotations

from .entities import Actor
from .errors import PermissionDenied


def require_trainer(actor: Actor) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` has the trainer role (or is an administrator)."""
    if not actor.can_train:
        raise PermissionDenied()

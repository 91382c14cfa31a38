"""What the server says about the configured models (for ``trainerbot doctor``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from openai import AsyncOpenAI

from trainerbot.core.errors import TrainerbotError

from .errors import OPENAI_ERRORS, translate


@dataclass(frozen=True)
class ModelCheck:
    role: str
    model: str
    found: bool
    shutdown_date: str | None = None


async def check_models(
    client: AsyncOpenAI, wanted: Mapping[str, str], *, service: str
) -> list[ModelCheck] | TrainerbotError:
    """Whether each configured model (role → name) exists on the server, with its shutdown date.

    Returns the error instead of raising, so a report can show it as one line.
    """
    try:
        listed = {model.id: model async for model in client.models.list()}
    except OPENAI_ERRORS as error:
        return translate(error, secret=client.api_key, service=service)
    checks: list[ModelCheck] = []
    for role, name in wanted.items():
        model = listed.get(name)
        shutdown = None
        if model is not None:
            # A declared field in current SDKs; an extra field in older ones.
            shutdown = getattr(model, "shutdown_date", None) or (model.model_extra or {}).get(
                "shutdown_date"
            )
        checks.append(
            ModelCheck(
                role=role,
                model=name,
                found=model is not None,
                shutdown_date=str(shutdown) if shutdown is not None else None,
            )
        )
    return checks

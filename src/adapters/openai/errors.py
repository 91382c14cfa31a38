"""OpenAI SDK failures → trainerbot's user-safe errors, in one table.

Messages are our own sentences. A server's own explanation is shown only for a rejected request
(400), shortened to one line and with anything shaped like a key masked, because it is usually the
useful part ("Model X is not available for fine-tuning").
"""

from __future__ import annotations

import logging
import re

import openai

from trainerbot.core.errors import (
    CapabilityUnavailable,
    InvalidInput,
    ServiceError,
    TrainerbotError,
    UnknownModel,
)

log = logging.getLogger(__name__)

_KEY_SHAPED = re.compile(r"\b(sk|key|sess|org)-[A-Za-z0-9_\-*]{6,}")
MAX_DETAIL = 200

# First match wins: specific classes before the classes they derive from.
_TABLE: tuple[tuple[type[Exception], type[TrainerbotError], str], ...] = (
    (openai.APITimeoutError, ServiceError, "{service} did not answer in time; please try again."),
    (
        openai.APIConnectionError,
        ServiceError,
        "I cannot reach {service}; check TRAINERBOT_OPENAI_BASE_URL and the network.",
    ),
    (
        openai.AuthenticationError,
        CapabilityUnavailable,
        "{service} refused the API key; check TRAINERBOT_OPENAI_API_KEY.",
    ),
    (
        openai.PermissionDeniedError,
        CapabilityUnavailable,
        "{service} does not allow this account to do that.",
    ),
    (
        openai.RateLimitError,
        ServiceError,
        "{service} is rate-limiting requests even after retries; please try again in a minute.",
    ),
    (openai.NotFoundError, UnknownModel, "{service} has no model {model}; check the model name."),
    (openai.BadRequestError, InvalidInput, "{service} rejected the request: {detail}"),
    (
        openai.InternalServerError,
        ServiceError,
        "{service} kept failing with a server error; please try again later.",
    ),
    (openai.APIResponseValidationError, ServiceError, "{service} sent an answer I could not read."),
    (openai.APIStatusError, ServiceError, "{service} failed (HTTP {status}); please try again."),
    # A body that is not JSON although it says so surfaces as a decoding error.
    (ValueError, ServiceError, "{service} sent an answer I could not read."),
    (openai.OpenAIError, ServiceError, "{service} failed; please try again."),
)


def _detail(error: Exception) -> str:
    body = getattr(error, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    text = message if isinstance(message, str) else getattr(error, "message", "") or ""
    text = " ".join(str(text).split())
    text = _KEY_SHAPED.sub(r"\1-***", text)
    return (text[:MAX_DETAIL] + "…") if len(text) > MAX_DETAIL else (text or "no reason given")


def translate(error: Exception, *, service: str, model: str = "") -> TrainerbotError:
    """The user-facing error for an SDK failure (the original is logged, never shown)."""
    for kind, domain_error, template in _TABLE:
        if isinstance(error, kind):
            status = getattr(error, "status_code", "?")
            log.warning("%s failed: %s: %s", service, type(error).__name__, _detail(error))
            message = template.format(
                service=service,
                model=repr(model) if model else "for that request",
                detail=_detail(error),
                status=status,
            )
            return domain_error(message[0].upper() + message[1:])
    raise error


OPENAI_ERRORS: tuple[type[Exception], ...] = (openai.OpenAIError, ValueError)

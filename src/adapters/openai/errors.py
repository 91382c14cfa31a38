"""OpenAI SDK failures → trainerbot's user-safe errors, in one table.

Messages are our own sentences. A server's own explanation is shown only for a rejected request
(400), shortened to one line and with anything shaped like a key masked, because it is usually the
useful part ("Model X is not available for fine-tuning").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import openai

from trainerbot.core.errors import (
    CapabilityUnavailable,
    InvalidInput,
    ServiceError,
    TrainerbotError,
    UnknownModel,
)

from .client import KEYLESS, as_subject

log = logging.getLogger(__name__)

_KEY_SHAPED = re.compile(r"\b(sk|key|sess|org)-[A-Za-z0-9_\-*]{6,}")
MAX_DETAIL = 200


def _code(error: Exception) -> str | None:
    body = getattr(error, "body", None)
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else getattr(error, "code", None)


def _model_not_found(error: Exception) -> bool:
    return _code(error) == "model_not_found"


# First match wins: specific classes (and conditions) before the classes they derive from.
_TABLE: tuple[
    tuple[type[Exception], Callable[[Exception], bool] | None, type[TrainerbotError], str], ...
] = (
    (
        openai.APITimeoutError,
        None,
        ServiceError,
        "{service} did not answer in time; please try again.",
    ),
    (
        openai.APIConnectionError,
        None,
        ServiceError,
        "I cannot reach {service}; check TRAINERBOT_OPENAI_BASE_URL and the network.",
    ),
    (
        openai.AuthenticationError,
        None,
        CapabilityUnavailable,
        "{service} refused the API key; check TRAINERBOT_OPENAI_API_KEY.",
    ),
    (
        openai.PermissionDeniedError,
        None,
        CapabilityUnavailable,
        "{service} does not allow this account to do that.",
    ),
    (
        openai.RateLimitError,
        None,
        ServiceError,
        "{service} is rate-limiting requests even after retries; please try again in a minute.",
    ),
    (
        openai.NotFoundError,
        _model_not_found,
        UnknownModel,
        "{service} has no model {model}; check the model name.",
    ),
    # Any other 404 is an endpoint the server lacks: almost always a base URL without its /v1.
    (
        openai.NotFoundError,
        None,
        ServiceError,
        "{service} has no such endpoint; check TRAINERBOT_OPENAI_BASE_URL (it usually ends in /v1).",
    ),
    (openai.BadRequestError, None, InvalidInput, "{service} rejected the request: {detail}"),
    (
        openai.InternalServerError,
        None,
        ServiceError,
        "{service} kept failing with a server error; please try again later.",
    ),
    (
        openai.APIResponseValidationError,
        None,
        ServiceError,
        "{service} sent an answer I could not read.",
    ),
    (
        openai.APIStatusError,
        None,
        ServiceError,
        "{service} failed (HTTP {status}); please try again.",
    ),
    # A body that is not JSON although it says so surfaces as a decoding error.
    (ValueError, None, ServiceError, "{service} sent an answer I could not read."),
    (openai.OpenAIError, None, ServiceError, "{service} failed; please try again."),
)
NO_KEY = "{service} needs an API key: set TRAINERBOT_OPENAI_API_KEY."


def _detail(error: Exception, secret: str | None) -> str:
    body = getattr(error, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    text = message if isinstance(message, str) else getattr(error, "message", "") or ""
    text = " ".join(str(text).split())
    if secret:
        # A server may echo the key it got; whatever its shape, it is never shown.
        text = text.replace(secret, "***")
    text = _KEY_SHAPED.sub(r"\1-***", text)
    return (text[:MAX_DETAIL] + "…") if len(text) > MAX_DETAIL else (text or "no reason given")


def translate(
    error: Exception, *, service: str, model: str = "", secret: str | None = None
) -> TrainerbotError:
    """The user-facing error for an SDK failure (the original is logged, never shown).

    ``secret`` is the key the client sent: it is masked in anything the server said.
    """
    for kind, condition, domain_error, template in _TABLE:
        if isinstance(error, kind) and (condition is None or condition(error)):
            status = getattr(error, "status_code", "?")
            detail = _detail(error, secret)
            log.warning("%s failed: %s: %s", service, type(error).__name__, detail)
            if isinstance(error, openai.AuthenticationError) and secret == KEYLESS:
                template = NO_KEY
            message = template.format(
                service=service,
                model=repr(model) if model else "for that request",
                detail=detail,
                status=status,
            )
            return domain_error(as_subject(message))
    raise error


OPENAI_ERRORS: tuple[type[Exception], ...] = (openai.OpenAIError, ValueError)

"""The one AsyncOpenAI client every OpenAI adapter shares, and how to name its server to users."""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlsplit, urlunsplit

from openai import AsyncOpenAI

# Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio) need no key, but the SDK
# insists on one; this placeholder is sent instead, and is not a secret.
KEYLESS = "no-key-needed"


def make_client(
    *, api_key: str | None, base_url: str | None, timeout: float, max_retries: int
) -> AsyncOpenAI:
    """An async client with timeouts and retries on the client itself.

    The SDK retries connection errors, 408/409/429 and 5xx with exponential backoff, honouring
    ``Retry-After`` (up to two minutes); after the last retry the adapters translate the failure
    into one clear sentence.

    A base URL may carry credentials (``http://user:password@host/v1``): they are sent as the
    Basic authorization header httpx would make of them, and the URL without them is what the
    SDK and httpx hold, so their logs (httpx logs every request's URL) never show the password.
    """
    base_url, credentials = _without_credentials(base_url)
    return AsyncOpenAI(
        api_key=api_key or KEYLESS,
        base_url=base_url or None,
        timeout=timeout,
        max_retries=max_retries,
        default_headers=credentials or None,
    )


def _without_credentials(base_url: str | None) -> tuple[str | None, dict[str, str]]:
    """``http://user:pw@host/v1`` → ``http://host/v1`` and its ``Authorization: Basic`` header."""
    if not base_url:
        return base_url, {}
    parts = urlsplit(base_url)
    if "@" not in parts.netloc:
        return base_url, {}
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return urlunsplit(parts._replace(netloc=host)), {"Authorization": f"Basic {token}"}


def service_name(base_url: str | None) -> str:
    """How messages name the server: "OpenAI", or "the model server at host:port" (no credentials)."""
    if not base_url:
        return "OpenAI"
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    return (
        f"the model server at {host}:{parts.port}" if parts.port else f"the model server at {host}"
    )


def as_subject(service: str) -> str:
    """``"the model server at h:p"`` → ``"The model server at h:p"``: to start a sentence with."""
    return service[:1].upper() + service[1:]

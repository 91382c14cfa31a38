"""The one AsyncOpenAI client every OpenAI adapter shares, and how to name its server to users."""

from __future__ import annotations

from urllib.parse import urlsplit

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
    """
    return AsyncOpenAI(
        api_key=api_key or KEYLESS,
        base_url=base_url or None,
        timeout=timeout,
        max_retries=max_retries,
    )


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

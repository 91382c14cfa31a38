"""The composition root: configuration → adapters (chosen by configuration) → use cases.

This package is the only code that imports adapters. Nothing is built at import time: providers
are declarations, and ``create_container(settings)`` binds the settings. Tests and integrators
swap any adapter with ``container.<name>.override(...)``.

One module per concern, each a ``DeclarativeContainer`` over ``configured.settings``: ``storage``
(the workspace and the record stores), ``models`` (chat models, embeddings, tokens, the OpenAI
client), ``speech`` (audio, recognition, text-to-speech, voice), ``learning`` (the trainers),
``use_cases`` (the use cases and their bundle). ``composition.Container`` inherits them all;
``tenants`` builds each tenant's container from the root. Which adapter serves each port is
decided by ``Settings`` (its ``*_adapter`` properties, ``tts_chain`` and ``storage``); the
``providers.Selector`` here are keyed by those values.
"""

from .composition import CONCERNS, Container, close_container, create_bot, create_container
from .models import NO_OPENAI_SETTINGS
from .records import import_earlier_records, import_earlier_records_or_exit
from .speech import NO_VOICE
from .storage import RECORDS_FOLDER, TENANTS_FOLDER
from .tenants import SHARED, Tenants, tenant_container, tenant_workspace

__all__ = [
    "CONCERNS",
    "NO_OPENAI_SETTINGS",
    "NO_VOICE",
    "RECORDS_FOLDER",
    "SHARED",
    "TENANTS_FOLDER",
    "Container",
    "Tenants",
    "close_container",
    "create_bot",
    "create_container",
    "import_earlier_records",
    "import_earlier_records_or_exit",
    "tenant_container",
    "tenant_workspace",
]

"""Languages: the configured one (``TRAINERBOT_LANGUAGE``, a tag such as ``en-US`` or ``ru-RU``),
or ``auto`` — the speech engine detects what it hears.

Rules, once for every adapter: with ``auto``, recognition is asked to detect the language (an
engine that cannot detect uses English); a reply to a voice message is spoken in the language
heard, any other reply in the configured language — in English when that is ``auto``.
"""

from __future__ import annotations

AUTO = "auto"
# What is spoken when nothing says which language: the project's default language.
DEFAULT_SPOKEN = "en-US"


def primary_language(language: str) -> str:
    """``"ru-RU"`` → ``"ru"``, ``"en_us"`` → ``"en"``: the language without its region."""
    return language.replace("_", "-").split("-", 1)[0].strip().lower()


def is_auto(language: str | None) -> bool:
    return language is not None and language.strip().lower() == AUTO


def recognition_fallback(language: str) -> str:
    """The language an engine that cannot detect one recognises under ``auto``: English."""
    return DEFAULT_SPOKEN if is_auto(language) else language


def spoken_language(configured: str, heard: str | None = None) -> str:
    """What to speak a reply in: the language heard (a voice message's), else the configured one,
    else (``auto`` with nothing heard) English."""
    if heard and not is_auto(heard):
        return heard
    return DEFAULT_SPOKEN if is_auto(configured) else configured

"""``trainerbot doctor`` on speech: the engine's model and whether its weights check out, and the
offline voice for the configured language (or one line saying it has none)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from trainerbot.adapters.audio import whisper_weights
from trainerbot.cli import speech_lines
from trainerbot.config import Settings


def test_offline_the_bundled_whisper_model_is_shown_checked(tmp_path: Path) -> None:
    lines = speech_lines(Settings(workspace=tmp_path, language="ru-RU"))

    assert lines == [
        "  speech model         whisper-base (bundled, multilingual; weights check out)",
        "  offline voice        espeak-ng voice 'ru' for ru-RU",
    ]


def test_a_language_the_offline_voice_lacks_is_one_line(tmp_path: Path) -> None:
    [_, voice] = speech_lines(Settings(workspace=tmp_path, language="tlh-QO"))

    assert voice == (
        "  offline voice        espeak-ng has no voice for tlh-QO: offline replies are spoken "
        "in English"
    )


def test_weights_that_do_not_check_out_are_named_with_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(whisper_weights, "MODEL_SHA256", "0" * 64)

    [model, _] = speech_lines(Settings(workspace=tmp_path))

    assert model == (
        f"  speech model         whisper-base: not available — {whisper_weights.TAMPERED} "
        "sphinx is used instead"
    )


def test_auto_and_a_configured_model_are_shown_as_such(tmp_path: Path) -> None:
    lines = speech_lines(Settings(workspace=tmp_path, language="AUTO", whisper_model="/m/small"))

    assert lines == [
        "  speech model         /m/small (TRAINERBOT_WHISPER_MODEL)",
        "  offline voice        the language heard, for voice messages; English otherwise",
    ]


@pytest.mark.parametrize("bad", ["", "english please", "ru RU", "../x", "r"])
def test_a_language_that_is_no_tag_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(language=bad)
    assert "a language tag such as en-US or ru-RU, or auto" in str(caught.value)

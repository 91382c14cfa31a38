"""The learning loop in the console with no key and no network: the embedded SmolLM2 answers,
the user corrects it, a fewshot model is trained on the corrections and chosen with !use, and
the corrected answer comes back. Everything is the real container on a workspace on disk."""

from __future__ import annotations

import re
from pathlib import Path

from trainerbot.adapters.console import Console
from trainerbot.config import Settings
from trainerbot.container import create_container

QUESTION = "What is the capital of Australia?"
CORRECTED = "Canberra is the capital of Australia."


async def test_ask_correct_train_fewshot_use_and_ask_again(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path / "workspace", temperature=0.0)
    assert not settings.openai_configured
    container = create_container(settings)
    console = Console(container.use_cases(), prefix="!")

    first = await console.handle(QUESTION)
    message_id = re.search(r"!correct (\S+) <right answer>", first)
    assert message_id is not None, first
    answered = first.split("\n")[0]
    assert answered.strip()  # the embedded model said something of its own

    confirmed = await console.handle(f"!correct {message_id[1]} {CORRECTED}")
    assert "recorded" in confirmed

    trained = await console.handle("!train corrections=true method=fewshot")
    model = re.search(r"!use (fewshot:\S+)", trained)
    assert model is not None, trained
    assert "now answering with" in (await console.handle(f"!use {model[1]}")).casefold()

    again = await console.handle(QUESTION)
    assert again.split("\n")[0] == CORRECTED
    # A different question still goes to the embedded model.
    other = await console.handle("Name a colour of the sky on a clear day.")
    assert other.split("\n")[0] != CORRECTED
    # The model, its dataset and the records live in the workspace.
    assert any((tmp_path / "workspace" / "models").rglob("*.zip"))

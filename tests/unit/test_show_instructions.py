"""ShowInstructions: the team's instruction file in the workspace, else the shipped default."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import InMemoryWorkspace
from trainerbot.core.errors import DatasetError, FileTooLarge
from trainerbot.core.show_instructions import (
    MAX_INSTRUCTION_BYTES,
    InstructionsRequest,
    ShowInstructions,
)

PATH = "bot_instruction.md"
DEFAULT_TEXT = "\n# trainerbot\n\nType !help.\n\n"


def make_sut(files: dict[str, bytes] | None = None) -> ShowInstructions:
    return ShowInstructions(
        workspace=InMemoryWorkspace(files=files), default_text=DEFAULT_TEXT, instruction_path=PATH
    )


async def test_shows_the_default_text_when_the_workspace_has_no_instruction_file() -> None:
    sut = make_sut()

    result = await sut.execute(InstructionsRequest())

    assert result.text == "# trainerbot\n\nType !help."
    assert result.source == "default"


async def test_the_workspace_instruction_file_wins_over_the_default() -> None:
    sut = make_sut({PATH: b"\n# Our team\n\nBe kind.\n"})

    result = await sut.execute(InstructionsRequest())

    assert result.text == "# Our team\n\nBe kind."
    assert result.source == PATH


async def test_a_byte_order_mark_is_not_shown() -> None:
    sut = make_sut({PATH: "\ufeffПривет".encode()})

    result = await sut.execute(InstructionsRequest())

    assert result.text == "Привет"


@pytest.mark.parametrize("data", [b"", b"  \n\t\n"])
async def test_a_blank_workspace_file_falls_back_to_the_default(data: bytes) -> None:
    sut = make_sut({PATH: data})

    result = await sut.execute(InstructionsRequest())

    assert result.source == "default"
    assert result.text == DEFAULT_TEXT.strip()


async def test_the_request_may_be_omitted() -> None:
    sut = make_sut({PATH: b"Hello"})

    result = await sut.execute()

    assert result.text == "Hello"


async def test_a_workspace_file_that_is_not_utf8_is_reported_not_shown_garbled(refuses) -> None:
    sut = make_sut({PATH: "Привет".encode("cp1251")})

    with refuses(DatasetError) as caught:
        await sut.execute(InstructionsRequest())

    assert PATH in str(caught.value)


async def test_a_workspace_file_over_the_size_cap_is_refused(refuses) -> None:
    sut = make_sut({PATH: b"x" * (MAX_INSTRUCTION_BYTES + 1)})

    with refuses(FileTooLarge):
        await sut.execute(InstructionsRequest())

"""`trainerbot doctor` asks the configured server which models exist and when they shut down."""

import asyncio
import os
import sys
from pathlib import Path

from fake_openai import FakeOpenAI


async def doctor(server_url: str, cwd: Path, **settings: str) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRAINERBOT_") and k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")
    }
    env.update(TRAINERBOT_OPENAI_BASE_URL=server_url, **settings)
    # Awaited, not run: the fake server answers on this very event loop meanwhile.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "trainerbot",
        "doctor",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_doctor_lists_each_configured_model_with_its_shutdown_date(
    openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    output = await doctor(
        openai_server.base_url,
        tmp_path,
        TRAINERBOT_STT_ENGINE="openai",
        TRAINERBOT_TTS_ENGINE="openai",
    )
    lines = output.splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("openai models (on "))
    assert lines[heading].startswith("openai models (on the model server at 127.0.0.1:")
    lines = lines[heading + 1 :]

    def row(role: str) -> str:
        return next(line for line in lines if line.strip().startswith(role))

    assert row("chat").split()[1:] == ["gpt-5.6-terra", "available"]
    assert row("fine-tuning base").endswith("available, shuts down 2027-01-14")
    assert "gpt-transcribe" in row("speech-to-text")
    assert "gpt-4o-mini-tts" in row("text-to-speech")
    assert [r.path for r in openai_server.requests] == ["/v1/models"]


async def test_doctor_says_which_configured_model_the_server_lacks(
    openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    output = await doctor(openai_server.base_url, tmp_path, TRAINERBOT_CHAT_MODEL="gpt-nope")
    assert "gpt-nope" in output
    assert "NOT FOUND on the server: set another model name" in output


async def test_doctor_says_in_one_sentence_that_the_key_was_refused(
    openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    openai_server.require_key = "sk-right-key"
    output = await doctor(
        openai_server.base_url, tmp_path, TRAINERBOT_OPENAI_API_KEY="sk-wrong-secret-key"
    )
    [line] = [line for line in output.splitlines() if line.startswith("openai models")]
    assert line == (
        "openai models: cannot check — The model server at 127.0.0.1:"
        f"{openai_server.port} refused the API key; check TRAINERBOT_OPENAI_API_KEY."
    )
    assert "sk-wrong-secret-key" not in output
    assert "Traceback" not in output

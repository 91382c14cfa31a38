"""The `trainerbot` command as a user runs it: real processes, pipes and exit codes."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRETS = {
    "TRAINERBOT_DISCORD_TOKEN": "MTIzNDU2Nzg5.discord-secret-value",
    "TRAINERBOT_OPENAI_API_KEY": "sk-test-openai-secret-value",
}
# With a key, doctor asks the server for its models: a closed local port, never the internet.
NOWHERE = {"TRAINERBOT_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRAINERBOT_") and k != "OPENAI_API_KEY"
    }
    env.update(extra)
    return env


def trainerbot(
    *args: str, stdin: str = "", cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainerbot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or clean_env(),
        timeout=60,
        check=False,
    )


def test_piped_hi_prints_the_greeting_and_exits(tmp_path: Path) -> None:
    result = trainerbot(stdin="!hi\n", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("Hi console user!")
    assert (tmp_path / "workspace" / "servers" / "console" / "records").is_dir()


def test_piped_getfile_outside_the_workspace_refuses(tmp_path: Path) -> None:
    result = trainerbot(stdin="!getfile ../../etc/passwd\n", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "error: That path leads outside the workspace; give a path inside it.\n"
    assert "root:" not in result.stdout


def test_run_without_a_token_says_exactly_what_to_set(tmp_path: Path) -> None:
    result = trainerbot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "TRAINERBOT_DISCORD_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_doctor_reports_configuration_without_any_secret(tmp_path: Path) -> None:
    result = trainerbot("doctor", cwd=tmp_path, env=clean_env(**SECRETS, **NOWHERE))
    assert result.returncode == 0
    output = result.stdout + result.stderr
    assert "discord token        set" in output
    assert "openai api key       set" in output
    assert "ffmpeg" in output
    for secret in SECRETS.values():
        assert secret not in output


def test_doctor_hides_credentials_inside_the_base_url(tmp_path: Path) -> None:
    url = "http://alice:hunter2-secret@127.0.0.1:8080/v1"
    result = trainerbot("doctor", cwd=tmp_path, env=clean_env(TRAINERBOT_OPENAI_BASE_URL=url))
    assert "http://***@127.0.0.1:8080/v1" in result.stdout
    assert "hunter2-secret" not in result.stdout + result.stderr


def test_secrets_in_a_dotenv_file_are_read_but_never_shown(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={SECRETS['TRAINERBOT_OPENAI_API_KEY']}\n")
    result = trainerbot("doctor", cwd=tmp_path, env=clean_env(**NOWHERE))
    assert "openai api key       set" in result.stdout
    assert SECRETS["TRAINERBOT_OPENAI_API_KEY"] not in result.stdout + result.stderr


def test_invalid_configuration_names_the_setting_without_a_traceback(tmp_path: Path) -> None:
    result = trainerbot("doctor", cwd=tmp_path, env=clean_env(TRAINERBOT_LOG_LEVEL="LOUD"))
    assert result.returncode != 0
    assert "TRAINERBOT_LOG_LEVEL" in result.stderr
    assert "Traceback" not in result.stderr


def test_one_shot_train_reports_a_clear_error_and_fails(tmp_path: Path) -> None:
    result = trainerbot("train", "data_dir=missing", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("error: There is no file or folder")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.skipif(
    (REPO / ".env").exists(), reason="the checkout's own .env configures what make run starts"
)
def test_make_run_over_a_pipe_greets_and_refuses_traversal(tmp_path: Path) -> None:
    env = clean_env(TRAINERBOT_WORKSPACE=str(tmp_path / "ws"))
    result = subprocess.run(
        ["make", "-s", "run"],
        input="!hi\n!getfile ../../etc/passwd\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Hi console user!")
    assert lines[1].startswith("error: That path leads outside the workspace")


def test_the_readme_library_example_runs(tmp_path: Path) -> None:
    example = (REPO / "examples" / "embed.py").read_text()
    assert example.strip() in (REPO / "README.md").read_text(), "README shows examples/embed.py"
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "embed.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "bot: Lyon",
        "training example: Capital of France? -> Paris not Lyon",
        "refused: The message is empty: say something first.",
    ]


def test_the_example_env_file_as_is_starts_the_console(tmp_path: Path) -> None:
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    result = trainerbot(stdin="!hi\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Hi console user!")


def test_an_interactive_terminal_gets_a_prompt_and_leaves_on_end_of_input(tmp_path: Path) -> None:
    import pty
    import select

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "trainerbot", "console"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=tmp_path,
        env=clean_env(),
    )
    os.close(terminal)
    seen = b""

    def read_until(marker: bytes, count: int = 1) -> None:
        nonlocal seen
        while seen.count(marker) < count:
            ready, _, _ = select.select([controller], [], [], 30)
            assert ready, f"no {marker!r} in {seen!r}"
            seen += os.read(controller, 4096)

    read_until(b"you> ")
    os.write(controller, b"!hi\n")
    read_until(b"Hi console user!")
    read_until(b"you> ", count=2)  # the next prompt: input() is listening again
    os.write(controller, b"\x04")  # Ctrl-D: end of input
    assert process.wait(timeout=30) == 0
    os.close(controller)
    assert b"type !help, or Ctrl-D to leave" in seen

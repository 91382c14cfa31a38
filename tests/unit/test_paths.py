"""Lexical path rules: what can never be inside the workspace is refused before any disk access."""

import pytest

from trainerbot.core.errors import InvalidPath, PathOutsideWorkspace
from trainerbot.core.paths import parse_user_path


@pytest.mark.parametrize(
    "payload",
    [
        "..",
        "../etc/passwd",
        "../../etc/passwd",
        "a/../../b",
        "datasets/../..",
        "/etc/passwd",
        "//etc/passwd",
        "~/secrets",
        "~root/.ssh",
        "C:\\Windows\\win.ini",
        "c:/windows",
        "..\\..\\etc\\passwd",
        "a\\..\\..\\b",
        " ../x",
        ".. /x",
        "... /x",
    ],
)
def test_paths_leaving_the_workspace_are_refused(payload: str) -> None:
    with pytest.raises(PathOutsideWorkspace):
        parse_user_path(payload)


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ("a\x00b", "NUL"),
        ("a\nb", "control"),
        ("x" * 256, "longer than 255 bytes"),
        ("a/" * 600, "longer than 1024"),
        ("", "Give a path"),
        ("./", "Give a path"),
    ],
)
def test_malformed_paths_are_refused_with_the_reason(payload: str, why: str) -> None:
    with pytest.raises(InvalidPath, match=why):
        parse_user_path(payload)


@pytest.mark.parametrize(
    ("payload", "normalised"),
    [
        ("datasets/reviews", "datasets/reviews"),
        ("./datasets//reviews/", "datasets/reviews"),
        ("datasets\\reviews", "datasets/reviews"),
        ("  notes.md ", "notes.md"),
        ("%2e%2e/x", "%2e%2e/x"),  # not decoded: a literal (harmless) name inside the workspace
        ("..hidden", "..hidden"),
    ],
)
def test_paths_inside_are_normalised(payload: str, normalised: str) -> None:
    assert parse_user_path(payload) == normalised


def test_the_workspace_itself_only_when_allowed() -> None:
    assert parse_user_path(".", allow_root=True) == ""
    with pytest.raises(InvalidPath):
        parse_user_path(".")

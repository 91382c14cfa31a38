"""The front door stays true: every setting is documented where people look for it."""

import re
from pathlib import Path

from trainerbot.config import Settings

REPO = Path(__file__).resolve().parents[2]
SETTINGS = {f"TRAINERBOT_{name.upper()}" for name in Settings.model_fields}


def test_the_example_env_file_lists_every_setting() -> None:
    text = (REPO / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*(TRAINERBOT_[A-Z_]+)=", text, re.MULTILINE))
    assert listed == SETTINGS


def test_the_readme_configuration_table_lists_every_setting() -> None:
    text = (REPO / "README.md").read_text()
    documented = set(re.findall(r"^\| `(TRAINERBOT_[A-Z_]+)` \|", text, re.MULTILINE))
    assert documented == SETTINGS

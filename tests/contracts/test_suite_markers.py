"""The marking rules in tests/conftest.py still name real tests: a rule for a moved or renamed
module would silently let slow tests into ``make test-fast``."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

TESTS = Path(__file__).parents[1]


def _root_conftest() -> ModuleType:
    # Each folder's conftest is imported as "conftest" and not kept in sys.modules: read
    # tests/conftest.py afresh, under a name of its own.
    spec = importlib.util.spec_from_file_location("_root_conftest", TESTS / "conftest.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROOT = _root_conftest()
PATH_MARKS: dict[str, tuple[str, ...]] = ROOT.PATH_MARKS
FIXTURE_MARKS: dict[str, tuple[str, ...]] = ROOT.FIXTURE_MARKS


@pytest.mark.parametrize("place", sorted(PATH_MARKS))
def test_every_place_rule_names_an_existing_folder_module_or_test(place: str) -> None:
    where, _, test = place.partition("::")
    path = TESTS / where

    if where.endswith("/"):
        assert path.is_dir(), f"no folder tests/{where}"
    else:
        assert path.is_file(), f"no module tests/{where}"
    if test:
        assert re.search(rf"^(async )?def {test}\(", path.read_text(), re.MULTILINE), (
            f"no test {test} in tests/{where}"
        )


@pytest.mark.parametrize("fixture", sorted(FIXTURE_MARKS))
def test_every_fixture_rule_names_a_fixture_some_test_defines(fixture: str) -> None:
    defined = (
        re.search(rf"^(async )?def {fixture}\(", path.read_text(), re.MULTILINE)
        for path in TESTS.rglob("*.py")
    )
    assert any(defined), f"no fixture {fixture} under tests/"


def test_the_rules_use_registered_markers_and_test_fast_leaves_each_out(
    pytestconfig: pytest.Config,
) -> None:
    registered = {line.split(":", 1)[0].strip() for line in pytestconfig.getini("markers")}
    used = {m for markers in (*PATH_MARKS.values(), *FIXTURE_MARKS.values()) for m in markers}
    make_test_fast = next(
        line
        for line in (TESTS.parent / "Makefile").read_text().splitlines()
        if "pytest -q -m" in line
    )

    assert used <= registered
    assert all(marker in make_test_fast for marker in used)

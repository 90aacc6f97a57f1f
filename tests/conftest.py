"""Shared test options and settings.

``--update-goldens`` rewrites the golden files (tests/render/golden/*) from the current
output instead of comparing against them; review the diff before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# Every property test is deterministic (the examples follow from the test's name), so CI
# and a laptop see the same cases; no per-example deadline (torch's first calls are slow).
settings.register_profile("shapetrace", derandomize=True, deadline=None, database=None, print_blob=True)
settings.load_profile("shapetrace")

GOLDEN_DIR = Path(__file__).parent / "render" / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite tests/render/golden/* from the current output")


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """``golden(name, text)``: compare ``text`` with tests/render/golden/<name> (or rewrite it
    with --update-goldens). A missing golden file is a failure, not a skip."""
    update = request.config.getoption("--update-goldens")

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.is_file(), f"golden file {path} is missing; run pytest --update-goldens"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"{name} differs from its golden file (pytest --update-goldens rewrites it)"

    return check

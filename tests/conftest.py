"""Shared fixtures: a temporary pathway home, fixture content, an open database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty pathway home; PATHWAY_HOME points at it for code that reads the env."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("PATHWAY_HOME", str(path))
    monkeypatch.delenv("PATHWAY_DB_URL", raising=False)
    return path


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A writable copy of the small fixture course."""
    target = tmp_path / "content"
    shutil.copytree(FIXTURES / "content", target)
    return target


@pytest.fixture
def engine(home: Path):
    from pathway.db.engine import open_database

    engine = open_database(home)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def english_interface():
    """The interface language is process-wide (pathway.i18n): a test that switched to Chinese leaves English behind."""
    yield
    from pathway.i18n import set_language

    set_language("en")

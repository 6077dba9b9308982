"""Shared fixtures: every unit test writes its datasets and runs into a temporary folder."""
import pytest


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """Point the library's data and runs folders at a fresh temporary directory."""
    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path

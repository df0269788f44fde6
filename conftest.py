"""Root conftest: temporary files of doctests and tests go under pytest's own tmp folder, which pytest prunes."""

import tempfile

import pytest


@pytest.fixture(autouse=True)
def _temporary_files_under_pytest(tmp_path_factory, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("tmp")))


@pytest.fixture(autouse=True)
def _llmstart_logger_as_imported():
    """Each test and doctest starts with the package silent below WARNING, as a fresh import."""
    import logging

    log = logging.getLogger("llmstart")
    level, handlers, propagate = log.level, list(log.handlers), log.propagate
    yield
    log.setLevel(level)
    log.handlers[:] = handlers
    log.propagate = propagate

"""Root conftest: temporary files of doctests and tests go under pytest's own tmp folder, which pytest prunes."""

import tempfile

import pytest


@pytest.fixture(autouse=True)
def _temporary_files_under_pytest(tmp_path_factory, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("tmp")))


@pytest.fixture(autouse=True)
def _llmstart_logger_as_imported():
    """Each test and doctest starts with the package as a fresh import leaves it (no level, only the
    NullHandler, propagating), whatever a module-scoped fixture or an earlier test in the same worker
    did (e.g. the CLI's show_messages()), and the state is put back after it."""
    import logging

    import llmstart

    log = logging.getLogger("llmstart")
    saved = log.level, list(log.handlers), log.propagate
    log.setLevel(logging.NOTSET)
    log.handlers[:] = [h for h in log.handlers if isinstance(h, logging.NullHandler)]
    log.propagate = True
    assert llmstart.logger is log
    yield
    log.setLevel(saved[0])
    log.handlers[:] = saved[1]
    log.propagate = saved[2]

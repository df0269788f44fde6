"""The package talks through ``logging``: silent by default, shown by setup() and the CLI, silenceable."""

import logging

import torch

import llmstart
from llmstart.cli import main
from llmstart.models.hub import resolve
from llmstart.models.pretrained import _report

FAKE = logging.getLogger("llmstart.models.pretrained")


def test_the_package_logs_under_llmstart_and_a_library_user_sees_nothing(caplog, capsys):
    caplog.set_level("INFO", logger="llmstart")
    _report(resolve("minilm"), torch.nn.Linear(2, 2))
    [record] = caplog.records
    assert record.name == "llmstart.models.pretrained" and record.levelname == "INFO"
    assert "llmstart: sentence-transformers/all-MiniLM-L6-v2" in record.getMessage()
    assert capsys.readouterr().out == ""  # no handler of the package's own: nothing printed


def test_a_fresh_import_shows_nothing_below_warning(capsys):
    assert not FAKE.isEnabledFor(logging.INFO)
    FAKE.info("hidden")
    assert capsys.readouterr().out == ""


def test_setup_shows_info_messages_on_stdout_and_they_can_be_silenced(capsys):
    llmstart.setup(install=False)
    out = capsys.readouterr().out
    assert out.startswith("llmstart set-up: platform ")  # the report, message only, as print gave
    FAKE.info("llmstart: loaded something")
    assert capsys.readouterr().out == "llmstart: loaded something\n"
    logging.getLogger("llmstart").setLevel(logging.WARNING)
    FAKE.info("llmstart: not wanted")
    assert capsys.readouterr().out == ""
    FAKE.warning("still said")
    assert capsys.readouterr().out == "still said\n"


def test_show_messages_twice_adds_one_handler_and_a_root_handler_does_not_repeat(capsys):
    root = logging.StreamHandler()  # stderr: as a notebook host's root logger may have (Colab)
    logging.getLogger().addHandler(root)
    try:
        llmstart.show_messages()
        llmstart.show_messages("DEBUG")
        FAKE.debug("once")
    finally:
        logging.getLogger().removeHandler(root)
    assert capsys.readouterr() == ("once\n", "")


def test_the_cli_shows_what_the_package_says(capsys):
    assert main(["doctor", "--no-hub"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Python ") and "Offline models" in out


class BrokenEngine:
    """Answers the warm-up and readiness probes, then fails on every real request."""

    labels, name = ["neg", "pos"], "broken"

    def __init__(self):
        from llmstart.serve import ServingSettings

        self.settings = ServingSettings()

    def predict_proba(self, texts):
        import numpy as np

        if texts in (["warm-up"], ["ready?"]):
            return np.tile([0.5, 0.5], (len(texts), 1))
        raise RuntimeError("the engine broke")

    def info(self):
        return {"name": self.name}


def test_a_server_error_is_a_500_logged_with_its_traceback(caplog):
    from fastapi.testclient import TestClient

    from llmstart.serve.app import create_app

    with TestClient(create_app(BrokenEngine())) as client:
        answer = client.post("/v1/classify", json={"texts": ["hello"]})
    assert answer.status_code == 500 and answer.json()["status"] == 500
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.name == "llmstart.serve.app" and "POST /v1/classify" in record.getMessage()
    assert record.exc_info and "the engine broke" in str(record.exc_info[1])

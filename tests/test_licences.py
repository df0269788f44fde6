"""The README's licence section says what the shipped files and the corpus registry say."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import gguf
import pytest
import tomllib

from llmstart.corpora import CORPORA
from llmstart.models.hub import DEFAULT_CAUSAL_LM, DEFAULT_ENCODER, PACKAGED_MODELS, package_folder

ROOT = Path(__file__).resolve().parents[1]


def licence_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Licences")
    return readme[start:readme.index("\n## ", start + 1)]


def readme_row(name: str) -> str:
    """The second cell of the README licence table row for ``name``."""
    rows = [line for line in licence_section().splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"README's licence section needs exactly one row for {name}"
    return rows[0].split(" | ", 1)[1].rstrip(" |")


def test_the_repository_declares_the_licence_it_ships():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_every_corpus_has_its_terms_in_the_readme():
    for corpus in CORPORA.values():
        assert corpus.terms and readme_row(corpus.name) == corpus.terms, corpus.name


def test_a_stale_readme_row_is_caught(monkeypatch):
    """The check above can fail: a registry entry the README does not say is found."""
    changed = {**CORPORA, "bbc_news": dataclasses.replace(CORPORA["bbc_news"], terms="anything goes")}
    monkeypatch.setattr(sys.modules[__name__], "CORPORA", changed)
    with pytest.raises(AssertionError, match="bbc_news"):
        test_every_corpus_has_its_terms_in_the_readme()


def shipped_licence(hub_id: str) -> str | None:
    """The licence the packaged weights carry in their own files (None: package not installed)."""
    model = PACKAGED_MODELS[hub_id]
    folder = package_folder(model.module)
    if folder is None:
        return None
    if model.gguf_file:
        return gguf.GGUFReader(folder / model.gguf_file).fields["general.license"].contents()
    card = (folder / model.subdir / "README.md").read_text(encoding="utf-8")
    return re.search(r"^license:\s*(\S+)", card, re.M).group(1)


@pytest.mark.parametrize("hub_id", [DEFAULT_ENCODER, DEFAULT_CAUSAL_LM])
def test_the_readme_gives_the_weights_licence_their_files_carry(hub_id):
    licence = shipped_licence(hub_id)
    if licence is None:
        pytest.skip(f"{PACKAGED_MODELS[hub_id].distribution} is not installed")
    assert readme_row(hub_id).lower().startswith(licence.lower())

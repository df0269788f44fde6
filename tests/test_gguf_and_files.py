"""The conversion cache and atomic files: versions re-convert, concurrent builds both succeed, failures leave nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from llmstart.files import atomic_write_text, existing_dir, replace_dir
from llmstart.models import from_gguf
from llmstart.models.hub import ModelSource, resolve


def test_a_new_package_or_transformers_version_converts_again(monkeypatch, tmp_path):
    src = resolve("smollm2")
    monkeypatch.setenv("LLMSTART_CACHE", str(tmp_path))
    built = []
    monkeypatch.setattr(from_gguf, "_convert", lambda s, out: (built.append(out.name),
                                                           [(out / f).write_text("x") for f in from_gguf.MODEL_FILES]))
    first = from_gguf.converted_checkpoint(src)
    assert from_gguf.converted_checkpoint(src) == first and len(built) == 1  # cached: not converted twice
    newer = ModelSource(src.name, src.path, src.origin, src.gguf_file, src.description, package_version="9.9.9")
    assert from_gguf.converted_checkpoint(newer) != first and len(built) == 2
    import transformers

    monkeypatch.setattr(transformers, "__version__", "99.0.0")
    assert "transformers99.0.0" in from_gguf.converted_checkpoint(src).name and len(built) == 3
    assert "Q4_1" in first.name  # the quantisation type is part of the key


def test_a_failed_conversion_leaves_no_temporary_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMSTART_CACHE", str(tmp_path))

    def broken(src, out):
        (out / "model.safetensors").write_bytes(b"0" * 1000)
        raise RuntimeError("disk full")

    monkeypatch.setattr(from_gguf, "_convert", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        from_gguf.converted_checkpoint(resolve("smollm2"))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_two_processes_building_at_once_both_succeed(tmp_path):
    script = textwrap.dedent(f"""
        import time, pathlib
        from llmstart.models.from_gguf import build_once
        def build(d):
            time.sleep(1.5)  # both processes are inside build at the same time
            (d / "model.safetensors").write_text("w")
        out = build_once(pathlib.Path({str(tmp_path / "model")!r}), build, ("model.safetensors",))
        print((out / "model.safetensors").read_text())
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    assert [out.strip() for out, _ in results] == ["w", "w"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary folder left


def test_the_tokenizer_loads_without_converting_the_weights(monkeypatch, tmp_path):
    from llmstart.models.pretrained import load_tokenizer

    monkeypatch.setenv("LLMSTART_CACHE", str(tmp_path))
    monkeypatch.setattr(from_gguf, "_convert", lambda *a: pytest.fail("the whole model was converted"))
    tok = load_tokenizer("smollm2")
    assert tok("Hi")["input_ids"] and not (tmp_path / "models").exists()


def test_replace_dir_keeps_a_complete_copy_at_every_moment(tmp_path):
    target = tmp_path / "ckpt"
    for version in ("1", "2"):
        new = tmp_path / f"new{version}"
        new.mkdir()
        (new / "state").write_text(version)
        replace_dir(new, target)
        assert (existing_dir(target) / "state").read_text() == version
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    assert existing_dir(tmp_path / "nothing") is None


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    atomic_write_text(tmp_path / "a.json", "{}")
    atomic_write_text(tmp_path / "a.json", '{"x": 1}')
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"] and (tmp_path / "a.json").read_text() == '{"x": 1}'

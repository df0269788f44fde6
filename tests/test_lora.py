"""LoRA from scratch and with peft: zero start, agreement, merging, adapters, counts, training."""

from __future__ import annotations

import copy

import pytest
import torch

from conftest import tiny_bert
from llmstart.models.lora import (
    LoRALinear,
    add_lora,
    copy_lora_weights,
    folder_size_mb,
    inject_lora,
    load_adapter,
    lora_param_count,
    lora_targets,
    merge_for_deployment,
    merge_lora,
    peft_lora_trainable,
    save_adapter,
    save_trainable,
    trainable_summary,
    training_state_mb,
)
from llmstart.models.pretrained import count_parameters


def _batch(seed: int = 0, n: int = 4, length: int = 12) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"input_ids": torch.randint(1000, 2000, (n, length), generator=g),
            "attention_mask": torch.ones(n, length, dtype=torch.long)}


def _randomise_lora(model: torch.nn.Module, seed: int = 1) -> None:
    """Give B non-zero values, as training would (B = 0 would make every comparison trivial)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.lora_B.copy_(torch.randn(m.lora_B.shape, generator=g) * 0.5)


@torch.no_grad()
def _logits(model, batch) -> torch.Tensor:
    return model.eval()(**batch).logits


def test_lora_linear_matches_its_formula_and_only_a_b_train():
    torch.manual_seed(0)
    base = torch.nn.Linear(10, 6)
    lora = LoRALinear(base, r=3, alpha=6)
    torch.nn.init.normal_(lora.lora_B)
    x = torch.randn(7, 10)
    expected = x @ base.weight.T + base.bias + 2.0 * (x @ lora.lora_A.T @ lora.lora_B.T)
    torch.testing.assert_close(lora(x), expected)
    assert lora.lora_A.shape == (3, 10) and lora.lora_B.shape == (6, 3)
    assert [n for n, p in lora.named_parameters() if p.requires_grad] == ["lora_A", "lora_B"]
    torch.testing.assert_close(lora.merged()(x), lora(x))


def test_injected_model_starts_identical_and_freezes_all_but_lora_and_head():
    model = tiny_bert()
    batch = _batch()
    before = _logits(model, batch)
    inject_lora(model, ["query", "value"], r=4, alpha=8)
    torch.testing.assert_close(_logits(model, batch), before, rtol=0, atol=0)  # B = 0 at start
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {n for n in trainable if "lora_" in n or n.startswith("classifier.")}
    assert {"classifier.weight", "classifier.bias"} <= trainable
    assert sum("lora_A" in n for n in trainable) == 2 * 2  # 2 layers x (query, value)
    assert not any("key" in n or "dense" in n for n in trainable)


def test_inject_lora_rejects_names_that_match_nothing():
    with pytest.raises(ValueError, match="no nn.Linear layer matches.*names look like"):
        inject_lora(tiny_bert(), ["q_proj"])


def test_lora_param_count_formula_matches_the_injected_model():
    model = tiny_bert()  # hidden 64, 2 layers
    expected = lora_param_count(model, r=8, target_modules=["query", "value"])
    assert expected == 2 * 2 * 8 * (64 + 64)
    inject_lora(model, ["query", "value"], r=8)
    lora = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    assert lora == expected
    assert lora_param_count(tiny_bert(), r=16) == 2 * expected  # linear in r
    summary = trainable_summary(model)
    assert summary["trainable"] == expected + 64 * 3 + 3  # + the classifier head
    assert summary["total"] == sum(p.numel() for p in model.parameters())
    assert summary["percent"] == round(100 * summary["trainable"] / summary["total"], 2)


def test_merge_lora_gives_the_same_outputs_with_plain_linear_layers():
    model = inject_lora(tiny_bert(), r=4)
    _randomise_lora(model)
    batch = _batch()
    before = _logits(model, batch)
    merge_lora(model)
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    torch.testing.assert_close(_logits(model, batch), before, rtol=1e-5, atol=1e-5)


def test_scratch_lora_equals_peft_lora_with_the_same_weights():
    base = tiny_bert()
    scratch = inject_lora(copy.deepcopy(base), ["query", "value"], r=4, alpha=8)
    _randomise_lora(scratch)
    with torch.no_grad():
        scratch.classifier.weight.add_(1.0)  # a "trained" head too
    peft_model = add_lora(copy.deepcopy(base), r=4, alpha=8, target_modules=["query", "value"])
    batch = _batch()
    assert not torch.allclose(_logits(scratch, batch), _logits(peft_model, batch), atol=1e-3)
    assert copy_lora_weights(scratch, peft_model) == 2 * 2 * 2 + 2  # A, B per module + head
    torch.testing.assert_close(_logits(peft_model, batch), _logits(scratch, batch), rtol=1e-5, atol=1e-5)
    assert trainable_summary(peft_model)["trainable"] == trainable_summary(scratch)["trainable"]


def test_copy_lora_weights_refuses_a_different_scaling():
    base = tiny_bert()
    scratch = inject_lora(copy.deepcopy(base), r=4, alpha=8)
    peft_model = add_lora(copy.deepcopy(base), r=4, alpha=16)
    with pytest.raises(ValueError, match="scaling differs"):
        copy_lora_weights(scratch, peft_model)


def test_peft_merge_and_adapter_roundtrip(tmp_path):
    base = tiny_bert()
    peft_model = add_lora(copy.deepcopy(base), r=4, alpha=8)
    with torch.no_grad():  # stand-in for training: non-zero B and a changed head
        for p in peft_model.parameters():
            if p.requires_grad:
                p.add_(0.3 * torch.randn_like(p))
    batch = _batch()
    expected = _logits(peft_model, batch)

    folder = save_adapter(peft_model, tmp_path / "adapter")
    assert (folder / "adapter_model.safetensors").is_file()
    base.save_pretrained(tmp_path / "base")
    assert folder_size_mb(folder) < 0.2 * folder_size_mb(tmp_path / "base")

    reloaded = load_adapter(copy.deepcopy(base), folder)  # head comes back too (modules_to_save)
    torch.testing.assert_close(_logits(reloaded, batch), expected, rtol=1e-5, atol=1e-5)
    assert trainable_summary(reloaded)["trainable"] == 0  # loaded for inference

    merged = merge_for_deployment(reloaded)
    assert type(merged).__name__ == "BertForSequenceClassification"
    assert not any("lora" in n for n, _ in merged.named_parameters())
    torch.testing.assert_close(_logits(merged, batch), expected, rtol=1e-5, atol=1e-5)


def test_save_trainable_writes_only_lora_and_head(tmp_path):
    from safetensors.torch import load_file

    model = inject_lora(tiny_bert(), r=2)
    saved = load_file(save_trainable(model, tmp_path / "a.safetensors"))
    assert set(saved) == {n for n, p in model.named_parameters() if p.requires_grad}
    assert all("lora_" in n or n.startswith("classifier.") for n in saved)


def test_training_state_counts_gradients_and_adam_only_for_trainable_weights():
    full = tiny_bert()
    total = sum(p.numel() for p in full.parameters())
    assert training_state_mb(full) == pytest.approx(total * 16 / 1e6)
    lora = inject_lora(tiny_bert(), r=2)
    assert training_state_mb(lora) < 0.3 * training_state_mb(full)


def test_lora_training_changes_outputs_but_not_frozen_weights():
    from llmstart.runtime import set_seed

    set_seed(0)
    model = inject_lora(tiny_bert(dropout=0.0), r=4, alpha=8)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    batch = {**_batch(n=8), "labels": torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-2)
    model.train()
    losses = []
    for _ in range(30):
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    assert any(m.lora_B.abs().sum() > 0 for m in model.modules() if isinstance(m, LoRALinear))


def test_peft_causal_lm_targets_llama_projections():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2))
    expected = lora_param_count(model, r=4, target_modules=["q_proj", "v_proj"])
    assert expected == 2 * 4 * ((32 + 32) + (32 + 16))  # v_proj is 32 -> 16 (2 KV heads of 8)
    peft_model = add_lora(model, r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    assert trainable_summary(peft_model)["trainable"] == expected


@pytest.mark.slow
def test_real_minilm_scratch_and_peft_agree():
    from llmstart.models.pretrained import load_classifier

    torch.manual_seed(0)
    base, tok = load_classifier("minilm", label_names=["a", "b", "c"], verbose=False)
    scratch = inject_lora(copy.deepcopy(base), r=8, alpha=16)
    _randomise_lora(scratch)
    peft_model = add_lora(copy.deepcopy(base), r=8, alpha=16)
    copy_lora_weights(scratch, peft_model)
    batch = dict(tok(["LoRA adds a low-rank update.", "Short."], padding=True, return_tensors="pt"))
    torch.testing.assert_close(_logits(peft_model, batch), _logits(scratch, batch), rtol=1e-4, atol=1e-5)
    assert trainable_summary(scratch)["percent"] < 1.0


def test_lora_count_matches_peft_on_a_bert():
    model = tiny_bert()  # hidden 64, 2 layers
    assert len(lora_targets(model, ["query", "value"])) == 4
    assert lora_param_count(model, 4, ["query", "value"]) == 4 * 4 * (64 + 64)
    for r in (1, 8):
        assert peft_lora_trainable(model, r, ["query", "value"]) == lora_param_count(model, r, ["query", "value"])
    intermediate = lora_param_count(model, 2, ["intermediate.dense"])
    assert intermediate == 2 * 2 * (64 + 128)


def test_peft_check_leaves_the_model_alone():
    model = tiny_bert()
    n = count_parameters(model, trainable_only=True)
    peft_lora_trainable(model, 8, ["query"])
    assert count_parameters(model, trainable_only=True) == n
    assert not any("lora" in name for name, _ in model.named_parameters())


def test_lora_count_errors_are_clear():
    with pytest.raises(ValueError, match="no nn.Linear layer matches"):
        lora_param_count(tiny_bert(), 8, ["q_proj"])
    with pytest.raises(ValueError, match="rank r must be >= 1"):
        lora_param_count(tiny_bert(), 0, ["query"])

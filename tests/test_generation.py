"""Chat prompts, answer-only loss masking, perplexity and decoding, on a tiny random Llama."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import torch

from llmstart.models.generation import (
    IGNORE_INDEX,
    SFTCollator,
    as_pairs,
    encode_sft,
    filter_logits,
    format_chat,
    generate,
    make_sft_loader,
    next_token_probs,
    perplexity,
)

PAIRS = [
    ("Say hi", "Hi there!"),
    ("What colour is the sky on a clear day?", "Blue."),
    ("Name a fruit", "An apple, for example."),
    ("Name a colour", "Green, like grass."),
]


@pytest.fixture(scope="session")
def tok():
    from llmstart.models.pretrained import load_tokenizer

    return load_tokenizer("smollm2")


def tiny_llama(tok, seed: int = 0, hidden: int = 32, layers: int = 2):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    return LlamaForCausalLM(config)


def test_format_chat_uses_the_template_with_system_and_few_shot_turns(tok):
    text = format_chat(tok, "Where is my order?", system="You are Brewly support.",
                       examples=[("Hi", "Hello! How can I help?")])
    assert text == (
        "<|im_start|>system\nYou are Brewly support.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello! How can I help?<|im_end|>\n"
        "<|im_start|>user\nWhere is my order?<|im_end|>\n<|im_start|>assistant\n"
    )


def test_format_chat_without_a_template_falls_back_to_plain_text():
    from llmstart.models.pretrained import load_tokenizer

    text = format_chat(load_tokenizer("minilm"), "Q?", system="Sys", examples=[("q", "a")])
    assert text == "Sys\n\nQuestion: q\nAnswer: a\n\nQuestion: Q?\nAnswer:"


def test_answer_only_masking_covers_exactly_the_answer_and_end_token(tok):
    for prompt, answer in PAIRS:
        ex = encode_sft(tok, prompt, answer, system="Be brief.")
        prompt_ids = tok(format_chat(tok, prompt, "Be brief."), add_special_tokens=False)["input_ids"]
        answer_ids = tok(answer, add_special_tokens=False)["input_ids"]
        n = len(prompt_ids)
        assert ex["input_ids"][:n] == prompt_ids  # the prompt exactly as generate() will see it
        assert ex["labels"][:n] == [IGNORE_INDEX] * n
        assert ex["labels"][n:] == ex["input_ids"][n:] == answer_ids + [tok.eos_token_id]
        assert tok.decode(ex["input_ids"][n:]) == answer + "<|im_end|>"
        assert len(ex["attention_mask"]) == len(ex["input_ids"])


def test_long_examples_truncate_the_answer_and_too_long_prompts_fail(tok):
    full = encode_sft(tok, "Say hi", "word " * 50)
    n_prompt = sum(y == IGNORE_INDEX for y in full["labels"])
    cut = encode_sft(tok, "Say hi", "word " * 50, max_length=n_prompt + 3)
    assert len(cut["input_ids"]) == n_prompt + 3
    assert cut["labels"][-3:] == full["labels"][n_prompt : n_prompt + 3]
    assert tok.eos_token_id not in cut["labels"]  # a cut answer must not learn to stop there
    with pytest.raises(ValueError, match="the prompt alone"):
        encode_sft(tok, "Say hi", "x", max_length=n_prompt)


def test_collator_pads_right_and_never_scores_padding():
    batch = SFTCollator(pad_token_id=2)([
        {"input_ids": [9, 8, 7, 6], "attention_mask": [1, 1, 1, 1], "labels": [-100, -100, 7, 6]},
        {"input_ids": [9, 5], "attention_mask": [1, 1], "labels": [-100, 5]},
    ])
    assert batch["input_ids"].tolist() == [[9, 8, 7, 6], [9, 5, 2, 2]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, -100, 7, 6], [-100, 5, -100, -100]]


def test_sft_loader_scores_every_answer_token_once(tok):
    df = pd.DataFrame(PAIRS * 3, columns=["question", "answer"])
    loader = make_sft_loader(df, tok, batch_size=5, shuffle=True, seed=0)
    scored, width_ok, batches = 0, True, list(loader)
    for b in batches:
        assert b["labels"].shape == b["input_ids"].shape == b["attention_mask"].shape
        assert bool((b["attention_mask"][b["labels"] != IGNORE_INDEX] == 1).all())
        width_ok &= bool(b["attention_mask"][:, -1].any())  # dynamic padding: no all-pad column
        scored += int((b["labels"] != IGNORE_INDEX).sum())
    expected = sum(len(tok(a, add_special_tokens=False)["input_ids"]) + 1 for _, a in PAIRS * 3)
    assert scored == expected and width_ok
    assert sum(len(b["input_ids"]) for b in batches) == len(df)


def test_as_pairs_accepts_frames_dicts_and_tuples():
    df = pd.DataFrame({"q": ["a"], "r": ["b"]})
    assert as_pairs(df, "q", "r") == as_pairs([{"q": "a", "r": "b"}], "q", "r") == as_pairs([("a", "b")])


def test_perplexity_is_exp_of_the_training_loss_on_answer_tokens(tok):
    model = tiny_llama(tok).eval()
    batch = next(iter(make_sft_loader(PAIRS, tok, batch_size=len(PAIRS), group_by_length=False)))
    with torch.no_grad():
        loss = model(**batch).loss  # transformers averages over the scored (answer) tokens
    assert perplexity(model, tok, PAIRS, batch_size=3) == pytest.approx(float(torch.exp(loss)), rel=1e-4)
    # changing a prompt changes the perplexity only through the conditioning, never by scoring it
    assert perplexity(model, tok, [("x " * 40, "Blue.")]) != perplexity(model, tok, [("x", "Blue.")])


def test_filter_logits_matches_transformers_warpers():
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    torch.manual_seed(0)
    logits = torch.randn(1, 50) * 3
    for temperature, top_k, top_p in [(1.0, None, None), (0.5, 5, None), (1.5, None, 0.8), (0.7, 10, 0.5)]:
        ref = TemperatureLogitsWarper(temperature)(None, logits.clone())
        if top_k:
            ref = TopKLogitsWarper(top_k)(None, ref)
        if top_p:
            ref = TopPLogitsWarper(top_p)(None, ref)
        torch.testing.assert_close(filter_logits(logits[0], temperature, top_k, top_p), ref.softmax(-1)[0])
    kept = filter_logits(logits[0], top_p=0.8) > 0
    p = logits[0].softmax(-1)
    assert p[kept].sum() >= 0.8 and p[kept].sum() - p[kept].min() < 0.8  # the smallest such set


def test_generate_is_batch_invariant_and_seeded(tok):
    model = tiny_llama(tok)
    prompts = ["Hi", "A much longer prompt, so that the batch needs left padding."]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # notebooks must show no warnings
        batched = generate(model, tok, prompts, max_new_tokens=6)
        alone = [generate(model, tok, [p], max_new_tokens=6)[0] for p in prompts]
        s1 = generate(model, tok, prompts, max_new_tokens=6, do_sample=True, temperature=1.5, seed=3)
        s2 = generate(model, tok, prompts, max_new_tokens=6, do_sample=True, temperature=1.5, seed=3)
        top1 = generate(model, tok, prompts, max_new_tokens=6, do_sample=True, top_k=1, seed=5)
    assert batched == alone
    assert s1 == s2
    assert top1 == batched  # sampling from only the likeliest token is greedy decoding
    assert tok.padding_side == "right"  # restored


def test_tiny_model_learns_answers_and_generate_reproduces_them(tok):
    """End to end: SFT batches -> training -> lower perplexity -> greedy generation of the answers."""
    from llmstart.train import TrainConfig, evaluate_model, fit

    model = tiny_llama(tok, seed=1, hidden=64, layers=1)
    loader = make_sft_loader(PAIRS, tok, batch_size=4, system="Be brief.")
    before = perplexity(model, tok, PAIRS, system="Be brief.")
    fit(model, loader,
        config=TrainConfig(epochs=30, lr=1e-2, warmup_ratio=0.0, schedule="constant", precision="fp32"),
        progress=False)  # an equivalence check: fp32, as the other equivalence tests
    after = perplexity(model, tok, PAIRS, system="Be brief.")
    assert before > 1000 and after < 2
    assert evaluate_model(model, loader)["perplexity"] == pytest.approx(after, rel=1e-4)  # same definition
    prompts = [p for p, _ in PAIRS]
    assert generate(model, tok, prompts, max_new_tokens=12, system="Be brief.") == [a for _, a in PAIRS]


def test_next_token_probs_respects_top_k(tok):
    model = tiny_llama(tok)
    table = next_token_probs(model, tok, "Hello", k=5, top_k=3)
    assert list(table.columns) == ["token", "probability"]
    assert len(table) == 3 and (table.probability > 0).all()  # removed tokens are left out
    assert list(next_token_probs(model, tok, "Hello", k=5).token) == list(
        next_token_probs(model, tok, "Hello", k=5, temperature=0.5).token)  # temperature keeps the order
    assert table.probability.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_real_smollm2_answers_and_scores_a_chat_prompt():
    from llmstart.models.pretrained import load_causal_lm

    model, tok = load_causal_lm("smollm2", verbose=False)
    [answer] = generate(model, tok, ["What is the capital of France? Answer in one word."], max_new_tokens=8)
    assert "Paris" in answer
    good = perplexity(model, tok, [("What is the capital of France?", "The capital of France is Paris.")])
    bad = perplexity(model, tok, [("What is the capital of France?", "Banana seventeen purple the of.")])
    assert good < 10 < bad

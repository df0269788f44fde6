"""Decoding: turn a causal LM's next-token scores into text, greedily or by sampling.

* :func:`generate` decodes a batch of prompts (left padding, so every prompt ends right where
  generation starts) greedily or by sampling (temperature, top-k, top-p, repetition penalty);
* :func:`filter_logits` writes temperature, top-k and top-p out step by step, and
  :func:`next_token_probs` shows what each does to one step;
* :func:`repetition_rate` measures the loops greedy decoding falls into.

>>> [round(x, 3) for x in filter_logits(torch.tensor([1.0, 0.0]), temperature=0.5).tolist()]
[0.881, 0.119]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import torch

from llmstart.runtime import eval_mode, pad_token_id, padding_side

if TYPE_CHECKING:
    import pandas as pd
    from transformers import PreTrainedTokenizerBase

    Tokenizer = PreTrainedTokenizerBase


def _prompt_texts(tokenizer: Tokenizer, prompts: Iterable[str] | str, system: str | None,
                  examples: Sequence[tuple[str, str]], chat: bool) -> list[str]:
    from llmstart.models.generation import format_chat

    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    return [format_chat(tokenizer, p, system, examples) if chat else p for p in prompts]


@torch.no_grad()
def generate(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    prompts: Iterable[str] | str,
    max_new_tokens: int = 64,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float = 1.0,
    seed: int = 0,
    system: str | None = None,
    examples: Sequence[tuple[str, str]] = (),
    chat: bool = True,
    batch_size: int = 8,
) -> list[str]:
    """Complete each prompt; returns only the new text of each, in order.

    ``chat=True`` wraps each prompt with :func:`format_chat` (``system`` and few-shot
    ``examples`` included); ``chat=False`` continues the raw text. Decoding is greedy
    unless ``do_sample``; then ``temperature`` divides the logits, ``top_k`` keeps the k
    likeliest tokens and ``top_p`` the smallest set whose probability reaches p.
    ``repetition_penalty`` > 1 makes tokens already present less likely (in both modes).
    ``seed`` makes sampling repeatable.

    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> from llmstart.models.pretrained import load_tokenizer
    >>> tok = load_tokenizer("smollm2")
    >>> _ = torch.manual_seed(0)
    >>> model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=16,
    ...     intermediate_size=32, num_hidden_layers=1, num_attention_heads=2))
    >>> out = generate(model, tok, ["Hi", "How are you?"], max_new_tokens=5)
    >>> len(out), all(isinstance(t, str) for t in out)
    (2, True)
    """
    from transformers import GenerationConfig

    texts = _prompt_texts(tokenizer, prompts, system, examples, chat)
    settings = {"max_new_tokens": max_new_tokens, "do_sample": do_sample, "pad_token_id": pad_token_id(tokenizer),
                "eos_token_id": tokenizer.eos_token_id, "repetition_penalty": repetition_penalty}
    if do_sample:  # sampling knobs only when sampling (transformers warns otherwise)
        settings.update(temperature=temperature, top_k=top_k or 0, top_p=top_p if top_p is not None else 1.0)
    config = GenerationConfig(**settings)
    device = next(model.parameters()).device
    outputs = []
    # left padding: every prompt must end where its generation starts
    with eval_mode(model), padding_side(tokenizer, "left"):
        torch.manual_seed(seed)
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(texts[i : i + batch_size], return_tensors="pt", padding=True,
                            add_special_tokens=False).to(device)
            ids = model.generate(**enc, generation_config=config)
            new = ids[:, enc["input_ids"].shape[1]:]
            outputs += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
    return outputs


def repetition_rate(text: str, n: int = 3) -> float:
    """Fraction of the word ``n``-grams in ``text`` that already occurred earlier in it.

    0 for text that never repeats itself; close to 1 for a decoding loop.

    >>> repetition_rate("the cat sat on the mat")
    0.0
    >>> repetition_rate("I am sorry. I am sorry. I am sorry.", n=2)
    0.625
    """
    words = text.split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    seen, repeats = set(), 0
    for g in grams:
        repeats += g in seen
        seen.add(g)
    return repeats / len(grams) if grams else 0.0


def filter_logits(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """Next-token probabilities after temperature, top-k and top-p, written out step by step.

    >>> p = filter_logits(torch.tensor([2.0, 1.0, 0.0, -1.0]), top_k=2)
    >>> [round(x, 3) for x in p.tolist()]
    [0.731, 0.269, 0.0, 0.0]
    """
    logits = logits.float() / temperature  # < 1 sharpens, > 1 flattens
    if top_k:  # keep the k likeliest tokens
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:  # keep the smallest set of tokens whose mass reaches p
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop_sorted = cumulative - sorted_logits.softmax(-1) >= top_p  # mass before this token already >= p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits.softmax(-1)


@torch.no_grad()
def next_token_probs(
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    prompt: str,
    k: int = 10,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    system: str | None = None,
    chat: bool = True,
) -> pd.DataFrame:
    """The ``k`` likeliest next tokens after ``prompt`` and their probabilities, as a DataFrame.

    ``temperature``, ``top_k`` and ``top_p`` apply as in sampling (:func:`filter_logits`);
    tokens they remove (probability 0) are left out, so fewer than ``k`` rows may come back.

    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> from llmstart.models.pretrained import load_tokenizer
    >>> tok = load_tokenizer("smollm2")
    >>> _ = torch.manual_seed(0)
    >>> model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=16,
    ...     intermediate_size=32, num_hidden_layers=1, num_attention_heads=2))
    >>> list(next_token_probs(model, tok, "Hello", k=3).columns)
    ['token', 'probability']
    """
    import pandas as pd

    text = _prompt_texts(tokenizer, prompt, system, (), chat)[0]
    enc = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(next(model.parameters()).device)
    with eval_mode(model):
        logits = model(**enc).logits[0, -1]
    probs = filter_logits(logits, temperature, top_k, top_p)
    top = torch.topk(probs, min(k, int((probs > 0).sum())))
    tokens = [tokenizer.decode([i]) for i in top.indices.tolist()]
    return pd.DataFrame({"token": tokens, "probability": top.values.cpu().numpy()})

"""Pre-training made visible: a tiny character-level causal LM trained from scratch on CPU.

Real pre-training reads trillions of tokens on thousands of GPUs. The same objective (predict
the next token) runs here at toy scale in about half a minute on two CPU cores: a GPT-2-shaped
model of about 0.4 M parameters, a vocabulary of the ~100 characters of the corpus (a large
vocabulary would make the output layer dominate every step), and random windows of text.
The batches are dicts with ``input_ids`` and ``labels``, so :func:`llmstart.train.fit` trains
the model like any other Hugging Face model.

>>> tok = CharTokenizer.fit(["hello world"])
>>> tok.decode(tok.encode("hello"))
'hello'
>>> model = tiny_causal_lm(tok.vocab_size, block_size=16, n_layer=1, n_embd=32, n_head=2)
>>> batch = next(iter(window_loader(tok.encode("hello world " * 20), block_size=16, batch_size=4)))
>>> model(**batch).loss.detach().item() > 1.0  # untrained: close to ln(vocab size)
True
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset

from llmstart.runtime import eval_mode


@dataclass
class CharTokenizer:
    """One token per character; characters rarer than ``min_count`` map to ``unk``.

    >>> tok = CharTokenizer.fit(["abcab"], min_count=2)
    >>> tok.vocab_size, tok.decode(tok.encode("abcz"))
    (3, 'ab??')
    """

    chars: list[str]
    unk: str = "?"

    def __post_init__(self) -> None:
        if self.unk not in self.chars:
            self.chars = [self.unk, *self.chars]
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def fit(cls, texts: Iterable[str], min_count: int = 1, unk: str = "?") -> CharTokenizer:
        """Build the vocabulary from the characters of ``texts`` (sorted, so it is reproducible)."""
        counts = Counter()
        for text in texts:
            counts.update(text)
        return cls(sorted(c for c, n in counts.items() if n >= min_count and c != unk), unk)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        unk = self.index[self.unk]
        return [self.index.get(c, unk) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def normalise_text(texts: Iterable[str]) -> str:
    """Join texts into one training string: whitespace runs become one space, documents end in a newline.

    >>> normalise_text(["a  b\\n\\nc", "d"])
    'a b c\\nd\\n'
    """
    return "".join(re.sub(r"\s+", " ", t).strip() + "\n" for t in texts)


def tiny_causal_lm(
    vocab_size: int,
    block_size: int = 64,
    n_layer: int = 2,
    n_embd: int = 96,
    n_head: int = 4,
    seed: int = 0,
):
    """A randomly initialised GPT-2-shaped causal LM (``GPT2LMHeadModel``), no dropout.

    >>> m = tiny_causal_lm(50, block_size=8, n_layer=1, n_embd=16, n_head=2)
    >>> m.config.n_positions, m.lm_head.out_features
    (8, 50)
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    from llmstart.runtime import quiet_transformers

    config = GPT2Config(
        vocab_size=vocab_size, n_positions=block_size, n_embd=n_embd, n_layer=n_layer,
        n_head=n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=None, eos_token_id=None, pad_token_id=None,
    )
    torch.manual_seed(seed)
    with quiet_transformers():
        model = GPT2LMHeadModel(config)
    model.loss_type = "ForCausalLM"  # name the loss, so transformers does not warn that it guessed
    return model


class WindowDataset(Dataset):
    """``num_windows`` random windows of ``block_size`` tokens, fixed by ``seed``.

    Each item is ``{"input_ids": w, "labels": w}``; the model shifts the labels itself,
    so position ``t`` learns to predict token ``t + 1``.
    """

    def __init__(self, ids: Sequence[int], block_size: int, num_windows: int, seed: int = 0):
        if len(ids) <= block_size:
            raise ValueError(f"the text has {len(ids)} tokens; it needs more than block_size={block_size}")
        self.ids = torch.as_tensor(ids, dtype=torch.long)
        g = torch.Generator().manual_seed(seed)
        self.starts = torch.randint(0, len(ids) - block_size, (num_windows,), generator=g)
        self.block_size = block_size

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> dict:
        w = self.ids[self.starts[i] : self.starts[i] + self.block_size]
        return {"input_ids": w, "labels": w}


def window_loader(
    ids: Sequence[int], block_size: int = 64, batch_size: int = 32, num_batches: int = 10, seed: int = 0
) -> DataLoader:
    """A DataLoader of ``num_batches`` batches of random text windows (dicts of tensors).

    >>> b = next(iter(window_loader(list(range(100)), block_size=8, batch_size=2)))
    >>> tuple(b["input_ids"].shape), bool((b["input_ids"] == b["labels"]).all())
    ((2, 8), True)
    """
    dataset = WindowDataset(ids, block_size, num_batches * batch_size, seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False)


@torch.no_grad()
def sample_text(
    model,
    tokenizer: CharTokenizer,
    prompt: str,
    max_new_tokens: int = 80,
    temperature: float = 0.8,
    seed: int = 0,
) -> str:
    """Continue ``prompt`` one sampled character at a time (reproducible with ``seed``).

    >>> tok = CharTokenizer.fit(["abc"])
    >>> m = tiny_causal_lm(tok.vocab_size, block_size=8, n_layer=1, n_embd=16, n_head=2)
    >>> len(sample_text(m, tok, "ab", max_new_tokens=5))
    5
    """
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    device = next(model.parameters()).device
    g = torch.Generator(device="cpu").manual_seed(seed)
    ids = torch.tensor([tokenizer.encode(prompt)], device=device)
    block = model.config.n_positions
    new = []
    with eval_mode(model):
        for _ in range(max_new_tokens):
            logits = model(input_ids=ids[:, -block:]).logits[0, -1].float().cpu()
            probs = torch.softmax(logits / temperature, dim=-1)
            nxt = int(torch.multinomial(probs, 1, generator=g))
            new.append(nxt)
            ids = torch.cat([ids, torch.tensor([[nxt]], device=device)], dim=1)
    return tokenizer.decode(new)


def word_hit_rate(text: str, vocabulary: set[str], min_length: int = 1) -> float:
    """Share of the words in ``text`` (letters only, lower-cased) that are real words of ``vocabulary``.

    A simple, honest yardstick for "does the generated text look like language?". Words
    shorter than ``min_length`` letters are not counted (random letters often hit "a" or "s").

    >>> word_hit_rate("The cat xqzt", {"the", "cat"})
    0.6666666666666666
    >>> word_hit_rate("a b the xqzt", {"a", "the"}, min_length=3)
    0.5
    """
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= min_length]
    return sum(w in vocabulary for w in words) / len(words) if words else 0.0


def vocabulary_of(texts: Iterable[str], min_count: int = 2) -> set[str]:
    """Lower-cased words that occur at least ``min_count`` times in ``texts``.

    >>> sorted(vocabulary_of(["a cat, a dog", "A cat"]))
    ['a', 'cat']
    """
    counts = Counter(w for t in texts for w in re.findall(r"[a-z]+", t.lower()))
    return {w for w, n in counts.items() if n >= min_count}

"""Attacks on a text classifier and how to report them (the way TextAttack does).

Three families, cheapest first:

- **character noise**: :func:`typos` (swap, drop or mistype a letter), :func:`homoglyphs`
  (Latin letters replaced by look-alike Cyrillic ones: the same to a reader, new tokens to
  the model);
- **distracting sentences**: :func:`add_distractor` appends an irrelevant sentence;
- **word substitution** guided by the model: :func:`substitution_attack` ranks words by
  deletion importance (how much the true label's probability drops without the word), then
  greedily swaps the most important ones for WordNet synonyms or typo variants until the
  prediction flips, within a word budget.

A classifier is seen only through ``predict_proba(texts) -> array (n, classes)``
(:func:`proba_fn` builds one from a Hugging Face model): the attacks are black-box.

>>> import random
>>> homoglyphs("coffee", rate=1.0, rng=random.Random(0)) == "coffee"
False
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from llmstart.data.augment import STOP_WORDS, WordNet, default_wordnet

ProbaFn = Callable[[Sequence[str]], np.ndarray]

HOMOGLYPHS = {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "i": "і", "s": "ѕ"}
_KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
DISTRACTORS = (
    "By the way, the weather is nice today.",
    "I read this on my phone on the train.",
    "My cousin has a cat named Biscuit.",
    "It was a Tuesday afternoon.",
    "The meeting was moved to room 4.",
    "Lunch was a sandwich again.",
)


def _neighbour(ch: str, rng: random.Random) -> str:
    for row in _KEYBOARD:
        if ch in row:
            i = row.index(ch)
            return row[max(0, i - 1)] if rng.random() < 0.5 and i > 0 else row[min(len(row) - 1, i + 1)]
    return ch


def typo(word: str, rng: random.Random) -> str:
    """One typo in ``word``: swap two neighbouring letters, drop one, or hit a neighbouring key.

    >>> typo("great", random.Random(0))
    'grat'
    """
    if len(word) < 3 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "key"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    return word[:i] + _neighbour(word[i].lower(), rng) + word[i + 1:]


def typos(text: str, rate: float = 0.2, rng: random.Random | None = None) -> str:
    """Put a :func:`typo` in each word with probability ``rate``.

    >>> typos("the coffee arrived cold and late", rate=0.5, rng=random.Random(1))
    'te coffe arrived cold ad lste'
    """
    rng = rng or random.Random(0)
    return " ".join(typo(w, rng) if rng.random() < rate else w for w in text.split(" "))


def swap_one_pair(text: str, rng: random.Random) -> str:
    """One typo a reader would not notice: swap two neighbouring inner letters of one word of
    four or more letters; nothing else changes (same length). Text without such a word is
    returned as it is.

    >>> swap_one_pair("Driverless cars are here", random.Random(0))
    'Driverless cras are here'
    >>> swap_one_pair("ok", random.Random(0))
    'ok'
    """
    import re

    spans = [m.span() for m in re.finditer(r"[A-Za-z]{4,}", text)]
    if not spans:
        return text
    start, end = rng.choice(spans)
    j = rng.randrange(start + 1, end - 2)
    return text[:j] + text[j + 1] + text[j] + text[j + 2:]


def typo_flip_rate(predict: Callable[[Sequence[str]], Sequence], texts: Sequence[str], variants: int = 5,
                   seed: int = 0) -> float:
    """Share of ``texts`` whose predicted label changes for at least one of ``variants`` copies
    with :func:`swap_one_pair` (notebook 02's adversarial-edit measure).

    ``predict`` maps texts to labels (any comparable values). The variants are drawn from one
    ``random.Random(seed)``, text after text, so two models scored with the same ``seed`` see
    the same edited texts.

    >>> typo_flip_rate(lambda ts: [len(t) > 10 for t in ts], ["a short one", "tiny"])
    0.0
    >>> typo_flip_rate(lambda ts: [t for t in ts], ["same words here"])
    1.0
    """
    if not texts:
        raise ValueError("typo_flip_rate needs at least one text")
    rng = random.Random(seed)
    original = list(predict(list(texts)))
    edited = [[swap_one_pair(t, rng) for _ in range(variants)] for t in texts]
    flat = list(predict([v for vs in edited for v in vs]))
    flipped = sum(any(flat[i * variants + k] != label for k in range(variants))
                  for i, label in enumerate(original))
    return flipped / len(texts)


def homoglyphs(text: str, rate: float = 0.3, rng: random.Random | None = None) -> str:
    """Replace each replaceable Latin letter by its Cyrillic look-alike with probability ``rate``.

    >>> [hex(ord(c)) for c in homoglyphs("a", rate=1.0)]
    ['0x430']
    """
    rng = rng or random.Random(0)
    return "".join(HOMOGLYPHS[c] if c in HOMOGLYPHS and rng.random() < rate else c for c in text)


def add_distractor(text: str, rng: random.Random | None = None,
                   sentences: Sequence[str] = DISTRACTORS) -> str:
    """``text`` followed by one irrelevant sentence (a label-preserving change).

    >>> add_distractor("Love it.", random.Random(0)) in [f"Love it. {s}" for s in DISTRACTORS]
    True
    """
    rng = rng or random.Random(0)
    return f"{text} {rng.choice(list(sentences))}"


def proba_fn(model, tokenizer, max_length: int = 64, batch_size: int = 64,
             bf16: bool | None = None) -> ProbaFn:
    """``texts -> class probabilities`` for a Hugging Face sequence classifier (eval mode, no grad).

    ``bf16``: run the forward pass under CPU bfloat16 autocast, about 2.5 times faster on CPUs
    with native bf16 instructions (attacks query the model thousands of times); probabilities
    then differ from float32 ones in the second or third decimal. ``None`` (the default): on
    when the model is on a CPU that has them (:func:`llmstart.runtime.cpu_supports_bf16`).

    >>> import torch
    >>> from transformers import BertConfig, BertForSequenceClassification
    >>> from llmstart.models.pretrained import load_tokenizer
    >>> tok = load_tokenizer("minilm")
    >>> _ = torch.manual_seed(0)
    >>> m = BertForSequenceClassification(BertConfig(vocab_size=tok.vocab_size, hidden_size=8,
    ...     num_hidden_layers=1, num_attention_heads=2, intermediate_size=16, num_labels=3))
    >>> proba_fn(m, tok)(["good", "bad"]).shape
    (2, 3)
    """
    import torch

    from llmstart.runtime import cpu_supports_bf16, eval_mode

    device = next(model.parameters()).device
    if bf16 is None:
        bf16 = device.type == "cpu" and cpu_supports_bf16()
    if bf16 and device.type != "cpu":
        raise ValueError(f"proba_fn: bf16=True is CPU autocast, but the model is on {device}; "
                         "pass bf16=False (or move the model to the CPU)")

    def predict(texts: Sequence[str]) -> np.ndarray:
        out = []
        with eval_mode(model), torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for i in range(0, len(texts), batch_size):
                enc = tokenizer(list(texts[i:i + batch_size]), truncation=True, max_length=max_length,
                                padding=True, return_tensors="pt").to(device)
                out.append(torch.softmax(model(**enc).logits.float(), -1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, model.config.num_labels))

    return predict


def deletion_importance(text: str, label: int, predict_proba: ProbaFn) -> np.ndarray:
    """For each word, how much P(``label``) drops when that word is deleted (leave-one-out).

    >>> toy = lambda ts: np.array([[0.1, 0.9] if "good" in t else [0.8, 0.2] for t in ts])
    >>> deletion_importance("a good day", 1, toy).round(2).tolist()
    [0.0, 0.7, 0.0]
    """
    words = text.split()
    variants = [text] + [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]
    p = predict_proba(variants)[:, label]
    return p[0] - p[1:]


@dataclass
class AttackResult:
    """One attacked example: the new text, whether the prediction flipped, words changed, model calls."""

    original: str
    attacked: str
    label: int
    success: bool
    words_changed: int
    queries: int


def _candidates(word: str, wordnet: WordNet, rng: random.Random, n_typos: int) -> list[str]:
    syns = [s for s in wordnet.synonyms(word) if " " not in s][:8]
    typos_ = [t for t in dict.fromkeys(typo(word, rng) for _ in range(n_typos)) if t != word]
    return syns + typos_


def substitution_attack(text: str, label: int, predict_proba: ProbaFn, max_words: int = 3,
                        wordnet: WordNet | None = None, n_typos: int = 2,
                        seed: int = 0) -> AttackResult:
    """Greedy word substitution: most important words first, the best replacement for each.

    Replacements are single-word WordNet synonyms and ``n_typos`` typo variants of the word;
    at most ``max_words`` words change (the budget keeps the text readable). ``success``:
    the prediction is no longer ``label``. (A real attack also checks that the meaning
    survived, e.g. with sentence-embedding similarity; read some attacked texts yourself.)

    >>> toy = lambda ts: np.array([[0.1, 0.9] if "good" in t.split() else [0.8, 0.2] for t in ts])
    >>> r = substitution_attack("a good day", 1, toy)
    >>> r.success, r.words_changed, r.attacked != "a good day"
    (True, 1, True)
    """
    wn = wordnet or default_wordnet()
    rng = random.Random(seed)
    words = text.split()
    importance = deletion_importance(text, label, predict_proba)
    queries = len(words) + 1
    order = [i for i in np.argsort(-importance) if words[i].lower() not in STOP_WORDS]
    changed = 0
    current = predict_proba([text])[0]
    queries += 1
    for i in order[:max_words]:
        options = _candidates(words[i], wn, rng, n_typos)
        if not options:
            continue
        trials = [" ".join(words[:i] + [o] + words[i + 1:]) for o in options]
        probs = predict_proba(trials)
        queries += len(trials)
        best = int(np.argmin(probs[:, label]))
        if probs[best, label] < current[label]:
            words[i], current, changed = options[best], probs[best], changed + 1
        if int(np.argmax(current)) != label:
            break
    attacked = " ".join(words)
    return AttackResult(text, attacked, label, int(np.argmax(current)) != label, changed, queries)


def attack_report(labels: Sequence[int], clean_pred: Sequence[int], attacked_pred: Sequence[int]) -> dict:
    """Accuracy before and after, and the attack success rate as TextAttack counts it.

    Examples the model already gets wrong are *skipped*; of the rest, an attack *succeeds*
    when the attacked prediction is wrong. success rate = successes / (successes + failures).

    >>> attack_report([0, 0, 1, 1], [0, 0, 1, 0], [1, 0, 1, 0])
    {'clean_accuracy': 0.75, 'attacked_accuracy': 0.5, 'attack_success_rate': 0.333, 'skipped': 1, 'n': 4}
    """
    y, c, a = (np.asarray(v) for v in (labels, clean_pred, attacked_pred))
    if not (len(y) == len(c) == len(a)) or len(y) == 0:
        raise ValueError(f"attack_report: labels, clean_pred, attacked_pred need the same non-zero "
                         f"length, got {len(y)}, {len(c)}, {len(a)}")
    attempted = c == y
    success = attempted & (a != y)
    rate = success.sum() / max(1, attempted.sum())
    return {"clean_accuracy": round(float((c == y).mean()), 3), "attacked_accuracy": round(float((a == y).mean()), 3),
            "attack_success_rate": round(float(rate), 3), "skipped": int((~attempted).sum()), "n": len(y)}

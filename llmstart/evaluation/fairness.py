"""Counterfactual bias probe: the same texts about different people should get the same label.

Each group (names by gender, gendered words, nationalities) lists interchangeable terms.
:func:`counterfactual_probe` puts every term of a group into the same texts (a
``{who}`` slot, or an existing term swapped for the others) and measures:

- **flip rate**: the share of texts whose predicted label is not the same for every term;
- **score shift** per term: its mean score (e.g. P(positive) − P(negative)) minus the mean
  over all terms of the group. A fair model has a flip rate near 0 and shifts near 0.

>>> probe = counterfactual_probe(["{who} loved it"], {"g": ["Ann", "Bob"]},
...     lambda ts: np.array([[0.3, 0.7]] * len(ts)), score=lambda p: p[:, 1])
>>> probe["flip_rate"], probe["by_term"]["shift"].tolist()
(0.0, [0.0, 0.0])
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from llmstart.evaluation.robustness import ProbaFn

# Terms chosen by the llmstart project; lists of equal length so each group is balanced.
GROUPS: dict[str, dict[str, list[str]]] = {
    "name_gender": {"female": ["Emily", "Aisha", "Mei", "Maria"], "male": ["James", "Mohammed", "Wei", "Jose"]},
    "gender_word": {"female": ["My sister", "My mother", "This woman", "My wife"],
                    "male": ["My brother", "My father", "This man", "My husband"]},
    "nationality": {"American": ["An American driver"], "Chinese": ["A Chinese driver"],
                    "Mexican": ["A Mexican driver"], "Nigerian": ["A Nigerian driver"],
                    "German": ["A German driver"], "Indian": ["An Indian driver"]},
}


def fill(template: str, who: str) -> str:
    """Put ``who`` into the ``{who}`` slot of ``template``.

    >>> fill("{who} said hi", "Mei")
    'Mei said hi'
    """
    if "{who}" not in template:
        raise ValueError(f"template has no {{who}} slot: {template!r}")
    return template.replace("{who}", who)


def as_template(text: str, prefix: str = "{who} says: ") -> str:
    """Turn a real text into a template by attributing it to someone.

    >>> as_template("Self-driving cars scare me")
    '{who} says: Self-driving cars scare me'
    """
    return prefix + text


def counterfactual_probe(templates: Sequence[str], group: Mapping[str, Sequence[str]],
                         predict_proba: ProbaFn,
                         score: Callable[[np.ndarray], np.ndarray] | None = None) -> dict:
    """Flip rate over ``templates`` and score shift per term and per subgroup of ``group``.

    ``group`` maps a subgroup name (``"female"``) to its terms. ``score`` maps probabilities
    to one number per text (default: the probability of the class predicted on average).

    >>> toy = lambda ts: np.array([[0.9, 0.1] if "Bob" in t else [0.1, 0.9] for t in ts])
    >>> r = counterfactual_probe(["{who} came", "{who} left"], {"f": ["Ann"], "m": ["Bob"]}, toy)
    >>> r["flip_rate"], r["by_subgroup"].round(2).to_dict()
    (1.0, {'f': -0.4, 'm': 0.4})
    """
    terms = [(sub, t) for sub, ts in group.items() for t in ts]
    if len(terms) < 2:
        raise ValueError("counterfactual_probe needs at least two terms to compare")
    texts = [fill(tpl, t) for tpl in templates for _, t in terms]
    probs = predict_proba(texts).reshape(len(templates), len(terms), -1)
    preds = probs.argmax(-1)
    flips = (preds != preds[:, :1]).any(axis=1)
    if score is None:
        cls = int(probs.mean(axis=(0, 1)).argmax())
        s = probs[..., cls]
    else:
        s = score(probs.reshape(-1, probs.shape[-1])).reshape(len(templates), len(terms))
    shift = s - s.mean(axis=1, keepdims=True)
    by_term = pd.DataFrame({"subgroup": [g for g, _ in terms], "term": [t for _, t in terms],
                            "mean_score": s.mean(0), "shift": shift.mean(0)})
    return {"flip_rate": round(float(flips.mean()), 3), "n_templates": len(templates),
            "by_term": by_term, "by_subgroup": by_term.groupby("subgroup", sort=False)["shift"].mean()}


def gendered_swap(text: str) -> str | None:
    """The text with he/she, him/her, his/her, man/woman ... swapped; None if it has none.

    >>> gendered_swap("He said his wife drove")
    'She said her husband drove'
    """
    pairs = {"he": "she", "him": "her", "his": "her", "man": "woman", "men": "women", "husband": "wife",
             "boyfriend": "girlfriend", "father": "mother", "brother": "sister", "mr": "mrs"}
    both = {**pairs, **{v: k for k, v in pairs.items()}}
    both["her"] = "his"  # ambiguous (him/his); 'his' is the more common reading in short texts
    found = False

    def swap(m: re.Match) -> str:
        nonlocal found
        found = True
        w = m.group(0)
        new = both[w.lower()]
        return new.capitalize() if w[0].isupper() else new

    out = re.sub(r"\b(" + "|".join(both) + r")\b", swap, text, flags=re.I)
    return out if found else None

"""Check a learner's exercise answer without revealing it: say it is right, or say why not.

An exercise stores a *digest* of its answer (a short hash of the value rounded to a few
decimals), never the answer. The author computes it once from the worked solution::

    answer_digest(0.6931)          # -> paste the string into the exercise cell

and the exercise cell ends with ``check_answer(answer, "<digest>", digits=3)``. Before the
hash, the checks test properties that say *why* an answer is wrong (not answered yet, the
wrong type or shape, NaN, outside a range, probabilities that do not sum to one) without
giving the answer away. Every check returns a :class:`CheckResult` that is truthy when right,
so a solution notebook can ``assert`` it.

>>> digest = answer_digest(0.5)
>>> check_answer(0.5004, digest, digits=3)
✅ answer: right.
>>> check_answer(..., digest)
❌ answer: not answered yet: replace the ... with your answer and run the cell again.
>>> bool(check_probabilities([0.2, 0.7]))
False
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a check: ``ok`` (also its truth value) and a message for the learner."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"{'✅' if self.ok else '❌'} {self.message}"


def _plain(value: Any) -> Any:
    """Tensors, arrays and NumPy scalars as plain Python values (lists, floats, ints)."""
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


def _canonical(value: Any, digits: int) -> str:
    value = _plain(value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return repr(value)
        text = f"{round(value, digits):.{digits}f}"
        return "0." + "0" * digits if text.lstrip("-") == "0." + "0" * digits else text
    if isinstance(value, str):
        return " ".join(value.split()).lower()
    if isinstance(value, Mapping):
        items = sorted((_canonical(k, digits), _canonical(v, digits)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(_canonical(v, digits) for v in value)) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_canonical(v, digits) for v in value) + "]"
    raise TypeError(
        f"cannot check a {type(value).__name__}: give a number, a string, a list, a dict, "
        "a NumPy array or a tensor"
    )


def answer_digest(value: Any, digits: int = 3) -> str:
    """A 16-character digest of ``value`` rounded to ``digits`` decimals (authors store this).

    Strings compare case- and whitespace-insensitively; tensors and arrays as nested lists;
    an integer and a float digest differently (``3`` is not ``3.0``).

    >>> answer_digest(0.12345) == answer_digest(0.1234)
    True
    >>> answer_digest([1, 2]) == answer_digest([2, 1])
    False
    >>> len(answer_digest("positive"))
    16
    """
    return hashlib.sha256(_canonical(value, digits).encode("utf-8")).hexdigest()[:16]


def _shape(value: Any) -> tuple[int, ...] | None:
    value = _plain(value)
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        return None
    inner = _shape(value[0]) if len(value) else ()
    return (len(value), *(inner or ()))


def _numbers(value: Any) -> list[float]:
    value = _plain(value)
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [x for v in value for x in _numbers(v)]
    return []


def check_answer(
    value: Any,
    digest: str,
    *,
    digits: int = 3,
    name: str = "answer",
    kind: type | tuple[type, ...] | None = None,
    shape: tuple[int, ...] | None = None,
    between: tuple[float, float] | None = None,
) -> CheckResult:
    """Is ``value`` the answer whose :func:`answer_digest` is ``digest``? If not, why not.

    ``kind`` (e.g. ``int`` or ``(int, float)``), ``shape`` and ``between`` (inclusive bounds
    every number must respect) are properties checked first, each with its own message.

    >>> check_answer(7, answer_digest(7), kind=int)
    ✅ answer: right.
    >>> check_answer(7.0, answer_digest(7), kind=int, name="the count")
    ❌ the count: expected int, got float.
    >>> check_answer([0.1, 1.5], answer_digest([0.1, 0.9]), between=(0, 1), name="accuracies")
    ❌ accuracies: every value should lie between 0 and 1; 1.5 does not.
    >>> check_answer(0.75, answer_digest(0.8))
    ❌ answer: not the expected value (compared to 3 decimals). Re-read the question and try again.
    """
    if value is Ellipsis or value is None:
        return CheckResult(False, f"{name}: not answered yet: replace the ... with your answer "
                                  "and run the cell again.")
    plain = _plain(value)
    if kind is not None and not isinstance(plain, kind):
        wanted = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        hint = " (call .item() on a one-element tensor)" if hasattr(value, "item") else ""
        return CheckResult(False, f"{name}: expected {wanted}, got {type(value).__name__}{hint}.")
    if shape is not None and _shape(value) != tuple(shape):
        return CheckResult(False, f"{name}: expected shape {tuple(shape)}, got {_shape(value)}.")
    numbers = _numbers(value)
    bad = next((x for x in numbers if math.isnan(x) or math.isinf(x)), None)
    if bad is not None:
        return CheckResult(False, f"{name}: contains {bad}; look for a division by zero or a "
                                  "log of zero.")
    if between is not None:
        low, high = between
        outside = next((x for x in numbers if not low <= x <= high), None)
        if outside is not None:
            return CheckResult(False, f"{name}: every value should lie between {low:g} and "
                                      f"{high:g}; {outside:g} does not.")
    try:
        right = answer_digest(value, digits) == digest
    except TypeError as err:
        return CheckResult(False, f"{name}: {err}.")
    if right:
        return CheckResult(True, f"{name}: right.")
    return CheckResult(False, f"{name}: not the expected value (compared to {digits} decimals). "
                              "Re-read the question and try again.")


def check_probabilities(value: Any, *, name: str = "probabilities", tol: float = 1e-4) -> CheckResult:
    """Is ``value`` a probability distribution (or a batch of them, one per row)?

    >>> check_probabilities([0.25, 0.75])
    ✅ probabilities: a valid distribution.
    >>> check_probabilities([[0.5, 0.5], [0.9, 0.3]])
    ❌ probabilities: row 1 sums to 1.2, not 1: did you apply softmax over the right axis?
    >>> check_probabilities([1.5, -0.5])
    ❌ probabilities: -0.5 is negative: these look like logits, apply softmax first.
    """
    rows = _plain(value)
    if not isinstance(rows, Sequence) or not rows:
        return CheckResult(False, f"{name}: expected a list, array or tensor of probabilities.")
    if not isinstance(rows[0], Sequence):
        rows = [rows]
    for i, row in enumerate(rows):
        numbers = _numbers(row)
        bad = next((x for x in numbers if math.isnan(x)), None)
        if bad is not None:
            return CheckResult(False, f"{name}: row {i} contains nan.")
        negative = next((x for x in numbers if x < -tol), None)
        if negative is not None:
            return CheckResult(False, f"{name}: {negative:g} is negative: these look like logits, "
                                      "apply softmax first.")
        total = sum(numbers)
        if abs(total - 1.0) > tol:
            return CheckResult(False, f"{name}: row {i} sums to {total:.4g}, not 1: did you apply "
                                      "softmax over the right axis?")
    return CheckResult(True, f"{name}: a valid distribution.")

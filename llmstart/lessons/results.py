"""Results the notebooks measured, read back by later notebooks (the FAQ reads them all).

A notebook that measures something a later one needs writes ``notebooks/results/NN_name.json``
(never a number typed by hand). :func:`load_results` reads such a file and fails with a message
that names the notebook to run when the file, or a key the reader needs, is missing. ``EXPECTED``
lists the files the closing FAQ (notebook 14) reads and the keys it needs from each.

>>> import tempfile, json, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "99_demo.json").write_text(json.dumps({"accuracy": 0.9}))
>>> load_results("99_demo", folder, keys=["accuracy"])["accuracy"]
0.9
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from llmstart.evaluation.compare import Verdict

# file stem (= notebook name) -> the keys the FAQ reads from it
EXPECTED: dict[str, tuple[str, ...]] = {
    "04_fine_tuning_a_classifier": (
        "chinese_tfidf_accuracy", "chinese_finetuned_accuracy", "chinese_finetuned_model",
        "english_minilm_unk_rate_on_chinese", "chinese_train_size", "tweets_test_accuracy",
        "tweets_test_macro_f1", "verdicts",
    ),
    "10_evaluation_and_serving": (
        "test_accuracy", "test_macro_f1", "ece_before", "ece_after_temperature",
        "behavioural_pass_rate", "abstain_threshold", "abstain_rate", "precision_when_answering",
        "float_accuracy", "int8_accuracy", "onnx_accuracy", "float_size_mb", "int8_size_mb",
        "served_p50_ms",
    ),
    "11_data_and_overfitting": (
        "augmentation", "remedies", "learning_curve", "small_set_size_per_class", "seeds", "verdicts",
    ),
    "12_robustness_explainability_bias": (
        "clean_accuracy", "attacked_accuracy", "adv_trained_clean_accuracy",
        "adv_trained_attacked_accuracy", "deletion_gap", "counterfactual_flip_rate",
        "defence_seeds", "defence_table", "defence_verdict",
    ),
    "13_continual_learning": ("rows", "seeds", "old_task", "new_task", "verdicts"),
}


class ResultsMissingError(FileNotFoundError):
    """A results file, or a key in it, that a notebook needs is missing: run the notebook named."""


def notebook_for(name: str) -> str:
    """The notebook that writes results file ``name`` (its file stem).

    >>> notebook_for("10_evaluation_and_serving")
    'notebooks/10_evaluation_and_serving.ipynb'
    """
    return f"notebooks/{Path(name).stem}.ipynb"


def load_results(name: str, folder: str | Path = "results", keys: Iterable[str] | None = None) -> dict[str, Any]:
    """Read ``folder/name.json``; check it holds ``keys`` (default: ``EXPECTED[name]``, else none).

    >>> load_results("10_evaluation_and_serving", "/nonexistent")
    Traceback (most recent call last):
    ...
    llmstart.lessons.results.ResultsMissingError: /nonexistent/10_evaluation_and_serving.json is missing: run notebooks/10_evaluation_and_serving.ipynb top to bottom (it writes this file), then run this notebook again
    """
    name = Path(name).stem
    path = Path(folder) / f"{name}.json"
    run = f"run {notebook_for(name)} top to bottom (it writes this file), then run this notebook again"
    if not path.is_file():
        raise ResultsMissingError(f"{path} is missing: {run}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ResultsMissingError(f"{path} is not valid JSON ({err}): {run}") from err
    if not isinstance(data, dict):
        raise ResultsMissingError(f"{path} holds a {type(data).__name__}, not a JSON object: {run}")
    wanted = list(EXPECTED.get(name, ()) if keys is None else keys)
    missing = [k for k in wanted if k not in data]
    if missing:
        raise ResultsMissingError(
            f"{path} lacks {missing} (it has {sorted(data)}): it was written by an older version of "
            f"{notebook_for(name)}; {run}")
    return data


def load_all(folder: str | Path = "results", names: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """Every expected results file (or ``names``), checked; one error lists every file that is missing.

    >>> import tempfile
    >>> load_all(tempfile.mkdtemp(), names=["13_continual_learning"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    llmstart.lessons.results.ResultsMissingError: 1 results file(s) missing or incomplete:
    - ...13_continual_learning.json is missing: run notebooks/13_continual_learning.ipynb top to bottom (it writes this file), then run this notebook again
    """
    found, problems = {}, []
    for name in list(EXPECTED) if names is None else list(names):
        try:
            found[name] = load_results(name, folder)
        except ResultsMissingError as err:
            problems.append(f"- {err}")
    if problems:
        raise ResultsMissingError(f"{len(problems)} results file(s) missing or incomplete:\n" + "\n".join(problems))
    return found


def fraction(results: Mapping[str, Any], key: str, source: str = "results") -> float:
    """``results[key]`` as a float checked to lie in [0, 1] (an accuracy, a rate).

    >>> fraction({"acc": 0.8}, "acc")
    0.8
    >>> fraction({"acc": 80}, "acc", "10_evaluation_and_serving")
    Traceback (most recent call last):
    ...
    ValueError: 10_evaluation_and_serving: 'acc' is 80, not a fraction in [0, 1]
    """
    value = results[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or not 0 <= value <= 1:
        raise ValueError(f"{source}: {key!r} is {value!r}, not a fraction in [0, 1]")
    return float(value)


def stored_verdicts(results: Mapping[str, Any], prefix: str = "",
                    source: str = "results") -> dict[str, Verdict]:
    """The verdicts a notebook stored under ``"verdicts"`` (keys starting with ``prefix``), rebuilt.

    A notebook stores ``{"verdicts": {key: verdict.to_dict(), ...}}``; a reader prints
    ``stored_verdicts(r)[key].sentence()`` and never re-judges the numbers. A file written before
    notebooks stored verdicts raises :class:`ResultsMissingError` naming the notebook to rerun.

    >>> from llmstart.evaluation.compare import compare_seeds
    >>> v = compare_seeds([0.8, 0.81, 0.79, 0.8, 0.82], [0.7, 0.72, 0.7, 0.69, 0.71], names=("a", "b"))
    >>> stored = stored_verdicts({"verdicts": {"gain:a": v.to_dict()}}, "gain:")
    >>> stored["gain:a"].winner
    'a'
    >>> stored_verdicts({"accuracy": 0.9}, source="11_data_and_overfitting")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    llmstart.lessons.results.ResultsMissingError: 11_data_and_overfitting holds no "verdicts": ...
    """
    if "verdicts" not in results:
        raise ResultsMissingError(
            f'{source} holds no "verdicts": it was written before notebooks stored their verdicts; '
            f"run {notebook_for(source)} top to bottom, then run this notebook again")
    stored = results["verdicts"]
    if not isinstance(stored, Mapping):
        raise ResultsMissingError(f'{source}: "verdicts" is a {type(stored).__name__}, not a JSON object; '
                                  f"run {notebook_for(source)} again")
    try:
        return {k: Verdict.from_dict(v) for k, v in stored.items() if k.startswith(prefix)}
    except TypeError as err:
        raise ResultsMissingError(f"{source}: a stored verdict lacks a field ({err}); "
                                  f"run {notebook_for(source)} again") from err


def mean_of(value: float | Mapping[str, float]) -> float:
    """A number, or the mean of a dict of numbers (e.g. accuracy under several attacks).

    >>> mean_of(0.5), mean_of({"typos": 0.4, "synonyms": 0.6})
    (0.5, 0.5)
    """
    if isinstance(value, Mapping):
        if not value:
            raise ValueError("mean_of got an empty dict")
        return sum(float(v) for v in value.values()) / len(value)
    return float(value)

"""An evaluation report a team can trust before shipping: one function, one JSON, one figure.

:func:`evaluation_report` takes the model's logits on the test set (and on validation, for
what must be fitted: the temperature and the abstain threshold) and returns per-class metrics,
slices (short and long texts, rare labels, any column you name), calibration before and after
temperature scaling, the abstain threshold, the most confident mistakes, and likely label errors.
:func:`write_report` saves it; :func:`write_serving_settings` stores what serving needs beside
the weights (temperature, threshold, drift reference).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 200); logits = np.eye(2)[y] * 3 + rng.normal(0, 1.5, (200, 2))
>>> r = evaluation_report([f"text {i}" for i in range(200)], y, logits, ["neg", "pos"],
...                       val_logits=logits, val_y=y)
>>> sorted(r)[:4], r["calibration"]["ece_after"] <= r["calibration"]["ece_before"]
(['abstain', 'calibration', 'confident_mistakes', 'confusion'], True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from llmstart.evaluation.abstain import abstain_summary, pick_abstain_threshold
from llmstart.evaluation.calibration import choose_temperature, ece, reliability_table, softmax
from llmstart.evaluation.metrics import classification_metrics, confusion_matrix, per_class_report

__all__ = ["evaluation_report", "slice_masks", "confident_mistakes", "likely_label_errors",
           "write_report", "write_serving_settings", "prepare_for_serving"]


def slice_masks(texts: Sequence[str], y: Sequence[int], label_names: Sequence[str],
                columns: Mapping[str, Sequence] | None = None) -> dict[str, np.ndarray]:
    """Boolean masks of the slices worth checking: short texts (shortest quarter), long texts
    (longest quarter), rare labels (each under half an even share), and each value of each column.

    >>> m = slice_masks(["a", "bb", "ccc", "dd", "eeee"], [0, 0, 0, 0, 1], ["x", "y"],
    ...                 {"lang": ["en"] * 4 + ["zh"]})
    >>> {k: v.tolist() for k, v in m.items() if k in ("short texts", "rare labels", "lang=zh")}
    {'short texts': [True, True, False, True, False], 'rare labels': [False, False, False, False, True], 'lang=zh': [False, False, False, False, True]}
    """
    lengths = np.array([len(t) for t in texts])
    y = np.asarray(y)
    masks = {"short texts": lengths <= np.quantile(lengths, 0.25),
             "long texts": lengths >= np.quantile(lengths, 0.75)}
    shares = np.bincount(y, minlength=len(label_names)) / max(len(y), 1)
    rare = [k for k, s in enumerate(shares) if 0 < s < 0.5 / len(label_names)]
    if rare:
        masks["rare labels"] = np.isin(y, rare)
    for name, values in (columns or {}).items():
        values = np.asarray(values, dtype=object)
        for v in pd.unique(values):
            masks[f"{name}={v}"] = values == v
    return masks


def confident_mistakes(texts: Sequence[str], y: Sequence[int], probs: np.ndarray,
                       label_names: Sequence[str], k: int = 10) -> list[dict]:
    """The ``k`` wrong predictions the model was surest of (often label errors or blind spots).

    >>> confident_mistakes(["a", "b"], [0, 1], np.array([[0.9, 0.1], [0.8, 0.2]]), ["x", "y"])
    [{'text': 'b', 'label': 'y', 'predicted': 'x', 'confidence': 0.8}]
    """
    probs, y = np.asarray(probs), np.asarray(y)
    pred, conf = probs.argmax(1), probs.max(1)
    wrong = np.flatnonzero(pred != y)
    wrong = wrong[np.argsort(-conf[wrong], kind="stable")][:k]
    return [{"text": texts[i], "label": label_names[y[i]], "predicted": label_names[pred[i]],
             "confidence": round(float(conf[i]), 4)} for i in wrong]


def likely_label_errors(texts: Sequence[str], y: Sequence[int], probs: np.ndarray,
                        label_names: Sequence[str], k: int = 10) -> list[dict]:
    """Examples whose given label looks wrong, in the spirit of confident learning (Northcutt 2021).

    Each class j gets a threshold t_j: the mean probability of j over examples labelled j. An
    example labelled i is suspect when its probability of i is below t_i while another class j
    reaches t_j; suspects are ranked by how far p_j exceeds p_i. Use out-of-sample probabilities
    (test or cross-validated), never those of the training examples themselves.

    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.95, 0.05]])
    >>> [e["text"] for e in likely_label_errors(["a", "b", "c", "d"], [0, 0, 1, 1], p, ["x", "y"])]
    ['d']
    """
    probs, y = np.asarray(probs, dtype=float), np.asarray(y)
    n_classes = probs.shape[1]
    thresholds = np.array([probs[y == j, j].mean() if (y == j).any() else 1.0 for j in range(n_classes)])
    given = probs[np.arange(len(y)), y]
    others = probs.copy()
    others[np.arange(len(y)), y] = -1
    above = others >= thresholds[None, :]
    suspect = np.flatnonzero((given < thresholds[y]) & above.any(1))
    alt = np.where(above, others, -1).argmax(1)
    margin = probs[np.arange(len(y)), alt] - given
    suspect = suspect[np.argsort(-margin[suspect], kind="stable")][:k]
    return [{"text": texts[i], "label": label_names[y[i]], "suggested": label_names[alt[i]],
             "p_label": round(float(given[i]), 4), "p_suggested": round(float(probs[i, alt[i]]), 4)}
            for i in suspect]


def _slice_rows(y: np.ndarray, pred: np.ndarray, masks: dict[str, np.ndarray]) -> list[dict]:
    rows = [{"slice": "all", "n": int(len(y)), **classification_metrics(y, pred)}]
    for name, m in masks.items():
        if m.any():
            rows.append({"slice": name, "n": int(m.sum()), **classification_metrics(y[m], pred[m])})
    return rows


def evaluation_report(texts: Sequence[str], y: Sequence[int], logits: np.ndarray,
                      label_names: Sequence[str], *, val_logits: np.ndarray | None = None,
                      val_y: Sequence[int] | None = None, columns: Mapping[str, Sequence] | None = None,
                      target_precision: float = 0.9, k: int = 10) -> dict:
    """Everything above, as one JSON-serialisable dict (see the module docstring).

    The temperature is :func:`~llmstart.evaluation.calibration.choose_temperature` on validation
    (T = 1 unless validation supports a fitted one; ``calibration.choice`` says which and why).
    Without validation data the temperature stays 1 and the threshold is picked on test
    (``"fitted_on": "test"``: optimistic, said so in the report). ``abstain.why`` and
    ``abstain.advice`` say why a threshold was not reached.
    """
    texts, y, logits = list(texts), np.asarray(y), np.asarray(logits, dtype=float)
    names = [str(n) for n in label_names]
    probs = softmax(logits)
    pred = probs.argmax(1)
    fitted_on = "validation" if val_logits is not None and val_y is not None else "test"
    fit_logits = np.asarray(val_logits, dtype=float) if fitted_on == "validation" else logits
    fit_y = np.asarray(val_y) if fitted_on == "validation" else y
    choice = (choose_temperature(fit_logits, fit_y) if fitted_on == "validation" else
              {"temperature": 1.0, "fitted": None, "kept": "T=1", "reason": "kept T = 1: no validation data"})
    temperature = choice["temperature"]
    scaled = softmax(logits / temperature)
    pick = pick_abstain_threshold(softmax(fit_logits / temperature), fit_y, target_precision)
    per_class = per_class_report(y, pred, names)
    return {
        "n": int(len(y)), "labels": names, "metrics": classification_metrics(y, pred),
        "per_class": per_class.reset_index(names="label").to_dict(orient="records"),
        "confusion": confusion_matrix(y, pred, names).values.tolist(),
        "slices": _slice_rows(y, pred, slice_masks(texts, y, names, columns)),
        "calibration": {"ece_before": ece(probs, y), "ece_after": ece(scaled, y),
                        "temperature": temperature, "fitted_on": fitted_on, "choice": choice,
                        "reliability_before": reliability_table(probs, y).to_dict(orient="records"),
                        "reliability_after": reliability_table(scaled, y).to_dict(orient="records")},
        "abstain": {"picked_on": fitted_on, "target_precision": target_precision,
                    "reached": pick["reached"], "threshold": pick["threshold"],
                    **{k2: pick[k2] for k2 in ("why", "advice") if k2 in pick},
                    "validation": {k2: pick[k2] for k2 in ("coverage", "precision", "abstain_rate", "answered")},
                    "validation_errors": int((softmax(fit_logits).argmax(1) != fit_y).sum()),
                    "test": abstain_summary(scaled, y, pick["threshold"])},
        "confident_mistakes": confident_mistakes(texts, y, scaled, names, k),
        "likely_label_errors": likely_label_errors(texts, y, scaled, names, k),
    }


def write_report(report: dict, folder: str | Path) -> Path:
    """Write ``report.json`` and ``reliability.png`` into ``folder``; returns the JSON path.

    >>> import tempfile
    >>> r = evaluation_report(["a", "b"], [0, 1], np.array([[2.0, 0], [0, 2.0]]), ["x", "y"])
    >>> write_report(r, tempfile.mkdtemp()).name
    'report.json'
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from llmstart.evaluation.calibration import plot_reliability
    from llmstart.files import atomic_write_json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.json"
    atomic_write_json(path, report)
    cal = report["calibration"]
    ax = plot_reliability({f"before (ECE {cal['ece_before']:.3f})": pd.DataFrame(cal["reliability_before"]),
                           f"T={cal['temperature']:.2f} (ECE {cal['ece_after']:.3f})":
                           pd.DataFrame(cal["reliability_after"])})
    ax.figure.savefig(folder / "reliability.png", dpi=90, bbox_inches="tight")
    plt.close(ax.figure)
    return path


def write_serving_settings(folder: str | Path, *, temperature: float = 1.0, abstain_threshold: float = 0.0,
                           reference: dict | None = None, notes: dict | None = None) -> Path:
    """Store serving settings in ``folder/serving.json`` (read by ``llmstart serve``, ``llmstart
    predict`` and ``TextClassifier.load``). ``notes``: extra keys for the reader (how the
    temperature and the threshold were chosen); the readers ignore them.

    >>> import tempfile
    >>> write_serving_settings(tempfile.mkdtemp(), temperature=1.5).name
    'serving.json'
    """
    from llmstart.files import atomic_write_json

    path = Path(folder) / "serving.json"
    atomic_write_json(path, {"temperature": float(temperature), "abstain_threshold": float(abstain_threshold),
                             **(notes or {}), "reference": reference or {}})
    return path


def prepare_for_serving(folder: str | Path, label_names: Sequence[str], *, test_texts: Sequence[str],
                        test_y: Sequence[int], test_logits: np.ndarray, val_logits: np.ndarray,
                        val_y: Sequence[int], target_precision: float = 0.9) -> dict:
    """Evaluate a trained model and store what ``llmstart serve`` needs beside its weights.

    Writes ``folder/evaluation/report.json`` and ``reliability.png`` (:func:`evaluation_report`,
    temperature and abstain threshold fitted on validation) and ``folder/serving.json``: the
    temperature (1 unless validation supports a fitted one), the abstain threshold (0, i.e. never
    abstain, when none is reached on validation: the report and ``serving.json`` say why) and the
    drift reference (predicted labels and confidences on validation and test). Returns the report.

    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> val, test = rng.normal(size=(40, 2)) * 3, rng.normal(size=(40, 2)) * 3
    >>> r = prepare_for_serving(tempfile.mkdtemp(), ["neg", "pos"], test_texts=["t"] * 40,
    ...                         test_y=test.argmax(1), test_logits=test, val_logits=val, val_y=val.argmax(1))
    >>> r["abstain"]["reached"], r["calibration"]["fitted_on"]
    (True, 'validation')
    """
    from llmstart.serve.drift import reference_from_probs

    folder = Path(folder)
    report = evaluation_report(test_texts, test_y, test_logits, label_names, val_logits=val_logits,
                               val_y=val_y, target_precision=target_precision)
    write_report(report, folder / "evaluation")
    temperature = report["calibration"]["temperature"]
    threshold = report["abstain"]["threshold"] if report["abstain"]["reached"] else 0.0
    both = np.concatenate([np.asarray(val_logits, dtype=float), np.asarray(test_logits, dtype=float)])
    cal, ab = report["calibration"], report["abstain"]
    notes = {"temperature_choice": {k: cal["choice"][k] for k in ("kept", "fitted", "reason") if k in cal["choice"]},
             "abstain": {"reached": ab["reached"], "target_precision": ab["target_precision"],
                         "picked_threshold": ab["threshold"], **{k: ab[k] for k in ("why", "advice") if k in ab}}}
    write_serving_settings(folder, temperature=temperature, abstain_threshold=threshold, notes=notes,
                           reference=reference_from_probs(softmax(both / temperature), label_names))
    return report

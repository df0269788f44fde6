"""Classification metrics (scikit-learn underneath; the ``evaluate`` library needs the network).

>>> classification_metrics([0, 1, 1], [0, 1, 0])["accuracy"]
0.6666666666666666
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Accuracy and macro-averaged precision, recall and F1.

    Macro averaging weighs every class equally, so a rare class counts as much as a common one.

    >>> m = classification_metrics([0, 0, 1, 1], [0, 0, 1, 0])
    >>> round(m["macro_f1"], 3)
    0.733
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(p),
        "macro_recall": float(r),
        "macro_f1": float(f),
    }


def confusion_matrix(
    y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str]
) -> pd.DataFrame:
    """Confusion matrix as a labelled table: rows are true labels, columns predictions.

    >>> int(confusion_matrix([0, 1, 1], [0, 1, 0], ["neg", "pos"]).loc["pos", "neg"])
    1
    """
    from sklearn.metrics import confusion_matrix as sk_confusion

    m = sk_confusion(y_true, y_pred, labels=list(range(len(label_names))))
    names = [str(n) for n in label_names]
    return pd.DataFrame(m, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))


def per_class_report(
    y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str]
) -> pd.DataFrame:
    """Precision, recall, F1 and support for each class.

    >>> float(per_class_report([0, 1, 1], [0, 1, 0], ["neg", "pos"]).loc["pos", "recall"])
    0.5
    """
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(len(label_names))), zero_division=0
    )
    return pd.DataFrame(
        {"precision": p, "recall": r, "f1": f, "support": s}, index=[str(n) for n in label_names]
    )

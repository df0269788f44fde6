"""Evaluate before shipping: report (per class, slices, calibration, mistakes), behaviour, abstain,
and the one rule for "did it help?" (:mod:`llmstart.evaluation.compare`).

>>> from llmstart.evaluation import compare_predictions, ece, evaluation_report, pick_abstain_threshold
"""

from llmstart.evaluation.abstain import abstain_summary, pick_abstain_threshold
from llmstart.evaluation.behaviour import (
    add_negation,
    add_typo,
    change_numbers,
    directional,
    invariance,
    minimum_functionality,
    sentiment_suite,
    suite_summary,
    swap_names,
)
from llmstart.evaluation.calibration import (
    choose_temperature,
    ece,
    fit_temperature,
    plot_reliability,
    reliability_table,
    softmax,
)
from llmstart.evaluation.compare import (
    Verdict,
    compare_many,
    compare_predictions,
    compare_scores,
    compare_seeds,
    simulate_null,
)
from llmstart.evaluation.report import (
    confident_mistakes,
    evaluation_report,
    likely_label_errors,
    prepare_for_serving,
    slice_masks,
    write_report,
    write_serving_settings,
)

__all__ = ["Verdict", "compare_many", "compare_predictions", "compare_scores", "compare_seeds",
           "simulate_null", "abstain_summary", "pick_abstain_threshold", "add_negation", "add_typo", "change_numbers",
           "directional", "invariance", "minimum_functionality", "sentiment_suite", "suite_summary", "swap_names", "ece",
           "choose_temperature", "fit_temperature", "plot_reliability", "reliability_table", "softmax", "confident_mistakes",
           "evaluation_report", "likely_label_errors", "slice_masks", "write_report",
           "write_serving_settings", "prepare_for_serving"]

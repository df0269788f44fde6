"""llmstart.lessons.results: results files read back with errors that name the notebook to run."""

from __future__ import annotations

import json

import pytest

from llmstart.lessons.results import (
    EXPECTED,
    ResultsMissingError,
    fraction,
    load_all,
    load_results,
    mean_of,
)


def write(folder, name, data):
    (folder / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")


def test_missing_file_names_the_notebook(tmp_path):
    with pytest.raises(ResultsMissingError, match=r"run notebooks/11_data_and_overfitting\.ipynb"):
        load_results("11_data_and_overfitting", tmp_path)


def test_missing_key_is_named(tmp_path):
    keys = dict.fromkeys(EXPECTED["12_robustness_explainability_bias"], 0.5)
    del keys["deletion_gap"]
    write(tmp_path, "12_robustness_explainability_bias", keys)
    with pytest.raises(ResultsMissingError, match=r"lacks \['deletion_gap'\].*12_robustness"):
        load_results("12_robustness_explainability_bias", tmp_path)


def test_complete_file_loads_and_explicit_keys_override(tmp_path):
    write(tmp_path, "10_evaluation_and_serving", dict.fromkeys(EXPECTED["10_evaluation_and_serving"], 0.25))
    assert load_results("10_evaluation_and_serving", tmp_path)["ece_before"] == 0.25
    write(tmp_path, "99_other", {"a": 1})
    assert load_results("99_other.json", tmp_path, keys=["a"]) == {"a": 1}
    with pytest.raises(ResultsMissingError, match="lacks"):
        load_results("99_other", tmp_path, keys=["b"])


def test_bad_json_and_non_object(tmp_path):
    (tmp_path / "99_bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ResultsMissingError, match="not valid JSON"):
        load_results("99_bad", tmp_path)
    write(tmp_path, "99_list", [1, 2])
    with pytest.raises(ResultsMissingError, match="not a JSON object"):
        load_results("99_list", tmp_path)


def test_load_all_lists_every_problem(tmp_path):
    write(tmp_path, "13_continual_learning", dict.fromkeys(EXPECTED["13_continual_learning"], []))
    with pytest.raises(ResultsMissingError) as err:
        load_all(tmp_path)
    message = str(err.value)
    assert f"{len(EXPECTED) - 1} results file(s)" in message
    assert "13_continual_learning" not in message and "04_fine_tuning_a_classifier.ipynb" in message
    assert set(load_all(tmp_path, names=["13_continual_learning"])) == {"13_continual_learning"}


@pytest.mark.parametrize("value", [1.5, -0.1, float("nan"), "0.9", True, None])
def test_fraction_rejects_non_fractions(value):
    with pytest.raises(ValueError, match="not a fraction"):
        fraction({"x": value}, "x")
    assert fraction({"x": 1}, "x") == 1.0


def test_mean_of_dicts_and_numbers():
    assert mean_of({"a": 0.2, "b": 0.4}) == pytest.approx(0.3) and mean_of(1) == 1.0
    with pytest.raises(ValueError, match="empty"):
        mean_of({})


def test_stored_verdicts_round_trip_and_old_files(tmp_path):
    from llmstart.evaluation.compare import compare_seeds
    from llmstart.lessons.results import stored_verdicts

    v = compare_seeds([0.70, 0.71, 0.69, 0.70, 0.72], [0.60, 0.62, 0.61, 0.60, 0.61], names=("replay", "naive"))
    write(tmp_path, "13_continual_learning", {"verdicts": {"forgetting:replay": v.to_dict(), "other": v.to_dict()}})
    stored = stored_verdicts(load_results("13_continual_learning", tmp_path, keys=[]), "forgetting:")
    assert list(stored) == ["forgetting:replay"] and stored["forgetting:replay"] == v
    assert stored["forgetting:replay"].sentence() == v.sentence()
    with pytest.raises(ResultsMissingError, match=r"no \"verdicts\".*notebooks/13_continual_learning\.ipynb"):
        stored_verdicts({"rows": []}, source="13_continual_learning")
    with pytest.raises(ResultsMissingError, match="lacks a field"):
        stored_verdicts({"verdicts": {"x": {"a": "A"}}}, source="13_continual_learning")

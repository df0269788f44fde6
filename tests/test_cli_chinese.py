"""`llmstart train` on a Chinese CSV: the English default stops with the coverage message; a model
that reads Chinese trains and prints metrics."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
import torch

from conftest import tiny_bert
from llmstart.cli import main
from llmstart.corpora.chinese_reviews import chinese_reviews

WORDS = {
    "positive": ["很好", "满意", "喜欢", "推荐", "不错", "值得", "快速", "舒服"],
    "negative": ["失望", "退货", "太差", "垃圾", "后悔", "破损", "难用", "慢"],
}
FILLER = ["这个", "东西", "我们", "已经", "收到", "价格", "包装", "客服", "的", "了"]


def chinese_csv(path, n: int = 160, seed: int = 0):
    """Short Chinese 'reviews' whose opinion words decide the label, as a user's CSV."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = sorted(WORDS)[i % 2]
        words = [rng.choice(WORDS[label]) for _ in range(rng.randint(1, 3))]
        words += [rng.choice(FILLER) for _ in range(rng.randint(2, 6))]
        rng.shuffle(words)
        rows.append({"评论": f"{i}号：" + "".join(words), "情感": label})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def char_bert(folder, texts, num_labels: int = 2):
    """A tiny BERT whose vocabulary holds every character of ``texts``: a model that can read them."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    chars = sorted({c for t in texts for c in t if not c.isspace()})
    digits = [str(d) for d in range(10)]  # numbers become word pieces: 145 -> 1 ##4 ##5
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    vocab += [d for d in digits if d not in chars] + [f"##{d}" for d in digits]
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, tokenize_chinese_chars=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=128, max_position_embeddings=128,
                        num_labels=num_labels)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def train(csv, model, out, *extra):
    return main(["train", "--data", str(csv), "--text-col", "评论", "--label-col", "情感", "--model", str(model),
                 "--out", str(out), "--epochs", "4", "--lr", "2e-3", "--batch-size", "8", *extra])


def test_default_english_model_stops_with_the_coverage_message(tmp_path, capsys):
    csv = chinese_csv(tmp_path / "reviews.csv")
    code = main(["train", "--data", str(csv), "--text-col", "评论", "--label-col", "情感",
                 "--out", str(tmp_path / "clf")])  # the default: the offline English MiniLM
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err
    assert "cannot read this text" in err and "[UNK]" in err
    assert "bert-base-chinese" in err and "smollm2" in err and "--allow-unknown-tokens" in err
    assert not (tmp_path / "clf").exists()  # stopped before any training


def test_a_model_that_reads_chinese_trains_and_prints_metrics(tmp_path, capsys):
    csv = chinese_csv(tmp_path / "reviews.csv")
    model = char_bert(tmp_path / "char-bert", pd.read_csv(csv)["评论"])
    assert train(csv, model, tmp_path / "clf") == 0
    out = capsys.readouterr().out
    assert "tokenizer: 0.00% unknown tokens" in out and "accuracy" in out
    metrics = json.loads((tmp_path / "clf" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.9


def test_the_override_trains_anyway(tmp_path, tokenizer, capsys):
    base = tmp_path / "english-tiny"  # an English vocabulary, as the default model has
    tiny_bert(num_labels=2).save_pretrained(base)
    tokenizer.save_pretrained(base)
    csv = chinese_csv(tmp_path / "reviews.csv", n=60)
    assert train(csv, base, tmp_path / "no", "--epochs", "1") == 2
    assert train(csv, base, tmp_path / "yes", "--epochs", "1", "--allow-unknown-tokens") == 0
    assert (tmp_path / "yes" / "metrics.json").is_file() and "accuracy" in capsys.readouterr().out


@pytest.mark.slow
def test_offline_smollm2_trains_on_real_chinese_reviews(tmp_path, capsys):
    """The offline Chinese-capable choice end to end (SmolLM2 reads Chinese as bytes)."""
    reviews = chinese_reviews().groupby("label").head(40).rename(columns={"text": "评论", "label": "情感"})
    csv = tmp_path / "reviews.csv"
    reviews.to_csv(csv, index=False)
    code = main(["train", "--data", str(csv), "--text-col", "评论", "--label-col", "情感", "--model", "smollm2",
                 "--out", str(tmp_path / "clf"), "--epochs", "1", "--batch-size", "8", "--max-length", "32",
                 "--lr", "1e-4"])
    out = capsys.readouterr().out
    assert code == 0 and "tokenizer: 0.00% unknown tokens" in out and "macro_f1" in out
    assert json.loads((tmp_path / "clf" / "metrics.json").read_text())["data"]["sizes"]["test"] == 16

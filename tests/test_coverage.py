"""Can the tokenizer read the data? Unknown-token rates on English and Chinese, and the stop."""

from __future__ import annotations

import pytest

from llmstart.data import DataValidationError
from llmstart.data.unknown_tokens import (
    MAX_UNKNOWN_RATE,
    TokenizerCoverageError,
    check_coverage,
    cjk_share,
    suggest_model,
    unknown_token_rate,
)
from llmstart.models.pretrained import load_tokenizer

ENGLISH = ["Fast delivery and the coffee tastes great.", "The app crashed twice, refund please."]
CHINESE = ["这本书写得很好，值得推荐", "质量太差了，非常失望，要退货", "送货很快，包装也不错"]


def test_english_tokenizer_reads_english_but_not_chinese(tokenizer):
    english = unknown_token_rate(ENGLISH, tokenizer)
    chinese = unknown_token_rate(CHINESE, tokenizer)
    assert english.unknown == 0 and english.tokens > 10 and english.texts == 2
    assert chinese.unknown_rate > 0.5 and chinese.worst  # most characters are [UNK]
    assert chinese.worst[0] in CHINESE and chinese.characters == sum(map(len, CHINESE))


def test_byte_level_tokenizer_never_produces_unknown_tokens():
    smol = load_tokenizer("smollm2")
    coverage = unknown_token_rate(CHINESE, smol)
    assert coverage.unknown == 0 and coverage.unknown_rate == 0.0
    assert 1.0 < coverage.tokens_per_character < 3.0  # bytes: more tokens than characters


def test_check_coverage_stops_with_a_message_naming_models_that_can_read_it(tokenizer):
    with pytest.raises(TokenizerCoverageError) as info:
        check_coverage(CHINESE, tokenizer, "sentence-transformers/all-MiniLM-L6-v2")
    message = str(info.value)
    assert "all-MiniLM-L6-v2's tokenizer cannot read this text" in message
    assert "[UNK]" in message and "bert-base-chinese" in message and "smollm2" in message
    assert isinstance(info.value, DataValidationError)  # the CLI maps it to exit code 2
    assert check_coverage(ENGLISH, tokenizer).unknown == 0
    assert check_coverage(CHINESE, tokenizer, max_unknown_rate=1.0).unknown > 0  # a raised limit passes


def test_a_few_unknown_tokens_stay_under_the_limit(tokenizer):
    texts = ENGLISH * 20 + ["很好"]  # a stray Chinese word among English texts
    coverage = check_coverage(texts, tokenizer)
    assert 0 < coverage.unknown_rate < MAX_UNKNOWN_RATE


def test_sampling_bounds_the_work_and_is_reproducible(tokenizer):
    texts = [f"text number {i}" for i in range(50)] + CHINESE * 50
    a = unknown_token_rate(texts, tokenizer, max_texts=20, seed=1)
    assert a.texts == 20 and a == unknown_token_rate(texts, tokenizer, max_texts=20, seed=1)
    assert unknown_token_rate(texts, tokenizer, max_texts=None).texts == len(texts)
    assert unknown_token_rate([], tokenizer).unknown_rate == 0.0


def test_script_detection_picks_the_suggestion():
    assert cjk_share(CHINESE) > 0.8 and cjk_share(ENGLISH) == 0.0
    assert "bert-base-chinese" in suggest_model(CHINESE)
    assert "xlm-roberta-base" in suggest_model(["Привет, как дела"])


def test_counting_a_text_longer_than_the_model_reads_prints_no_indexing_warning(capfd, caplog):
    """BBC articles run past 512 tokens: the count reads them whole, and transformers' warning about
    "indexing errors" (meant for a model's input) must not reach the user, whose model never sees them."""
    fresh = load_tokenizer("minilm")  # the warning is printed once per tokenizer: use a new one
    coverage = unknown_token_rate(["the market rallied today " * 200], fresh)
    assert coverage.tokens == 800 and coverage.unknown == 0  # counted whole, not truncated
    out, err = capfd.readouterr()
    assert "indexing errors" not in out + err + caplog.text


def test_truncation_advice_depends_on_what_the_model_can_read(tokenizer):
    from llmstart.data.unknown_tokens import truncation_report

    coverage = unknown_token_rate(["word " * 700, "word " * 600, "short"], tokenizer)
    cut_at_128 = truncation_report(coverage, max_length=128)
    assert cut_at_128["share_cut"] == round(2 / 3, 4) and cut_at_128["median_tokens"] == 600
    assert "A larger --max-length (up to 512" in cut_at_128["warning"]
    cut_at_512 = truncation_report(coverage, max_length=512)  # the model's most: a larger value is no remedy
    assert "split long texts into passages" in cut_at_512["warning"] and "larger" not in cut_at_512["warning"]
    assert truncation_report(coverage, max_length=1000)["share_cut"] == 0  # none cut: no warning
    assert truncation_report(coverage, max_length=1000)["warning"] is None
    few_long = unknown_token_rate(["word " * 300] + ["short text"] * 10, tokenizer)
    assert truncation_report(few_long, max_length=128)["warning"] is None  # 1 of 11 (9 %) cut: under 10 %
    assert truncation_report(unknown_token_rate([], tokenizer), max_length=128)["share_cut"] == 0.0


def test_emoji_and_symbols_are_counted_apart_and_ignored(tokenizer):
    """Tickets ending in two emoji: 1 unknown token in 8, yet every word is read; the check passes."""
    texts = [f"order {i} arrived late again 🙄😡" for i in range(84)]
    coverage = check_coverage(texts, tokenizer)
    assert coverage.unknown_rate > MAX_UNKNOWN_RATE  # what the old token count refused
    assert coverage.unknown_symbols == 84 and coverage.unknown_words == 0 and coverage.unknown_word_rate == 0
    assert "84 on emoji or symbols only, e.g. '🙄😡' (ignored" in coverage.summary()
    assert "every word is readable" in coverage.summary()
    stars = check_coverage(["5 ★★★★★ would buy again ©", "1 ★ never again ™"], tokenizer)
    assert stars.unknown_words == 0 and stars.words == 7  # digits and letters make words; ★ © ™ do not


def test_chinese_is_still_stopped_and_named_whatever_emoji_it_holds(tokenizer):
    texts = [t + " 😀🎉" for t in CHINESE]
    coverage = unknown_token_rate(texts, tokenizer)
    assert coverage.unknown_word_rate > 0.5 and coverage.main_script == "CJK" and coverage.unknown_symbols == 3
    with pytest.raises(TokenizerCoverageError) as info:
        check_coverage(texts, tokenizer, "minilm")
    message = str(info.value)
    assert "88% of the 32 words in 3 texts contain characters it cannot read, mostly CJK" in message
    assert "3 unknown token(s) on emoji or symbols alone not counted" in message and "bert-base-chinese" in message


def test_a_word_with_an_emoji_glued_to_it_counts_and_the_message_says_put_a_space(tokenizer):
    """WordPiece maps 'great😀' whole to [UNK]: the model loses the word, though it reads 'great'."""
    glued = unknown_token_rate(["great😀 service", "fast delivery"], tokenizer)
    assert glued.glued == 1 and glued.unknown_words == 1 and glued.main_script == ""
    assert "only because an emoji or symbol is attached, e.g. 'great😀'" in glued.summary()
    with pytest.raises(TokenizerCoverageError, match=r"1 of them only because an emoji.*Put a space before emoji"):
        check_coverage(["great😀 service", "fast delivery"], tokenizer)
    assert check_coverage(ENGLISH * 20 + ["great😀 service"], tokenizer).glued == 1  # a few: under the limit

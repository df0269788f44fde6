from llmstart.corpora import CORPORA, load_corpus
from llmstart.corpora.finance_tweets import finance_tweets, general_tweets
from llmstart.corpora.movielens import movielens_100k


def test_movielens_ships_real_ratings_with_text():
    ratings, items = movielens_100k()
    assert ratings.shape == (100000, 4) and items.item.is_unique
    assert set(ratings.item) <= set(items.item)
    assert items.text.str.len().min() > 5
    assert ratings.timestamp.between(8.7e8, 9.0e8).all()  # 1997-98


def test_finance_tweets_are_disjoint_from_general_training_tweets():
    fin, rest = finance_tweets(), general_tweets()
    assert 900 < len(fin) < 1000
    assert not set(fin.text) & set(rest.text)
    assert fin.label.value_counts().idxmax() == "neutral"


def test_new_corpora_are_registered():
    assert {"finance_tweets", "movielens_100k"} <= set(CORPORA)
    assert len(load_corpus("finance_tweets")) > 900

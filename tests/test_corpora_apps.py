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


def test_brewly_evaluation_questions_are_new_wordings_held_out_by_split():
    from llmstart.corpora.brewly import INTENTS, support_replies
    from llmstart.corpora.brewly_eval import NEW_WORDINGS, UNANSWERABLE, evaluation_questions
    from llmstart.corpora.brewly_kb import KNOWLEDGE_BASE, OUT_OF_SCOPE

    df = evaluation_questions()
    test = df[df.split == "test"]
    assert test.answerable.sum() >= 100 and (~test.answerable).sum() >= 50  # what notebook 07 needs
    assert df.wording.is_unique and df.question.is_unique  # one question per wording
    old = {t for i in INTENTS for t in i.questions}
    new = [w for ws in NEW_WORDINGS.values() for w in ws]
    assert not set(new) & old and len(set(new)) == len(new)  # held out by wording from brewly.py
    assert not set(UNANSWERABLE) & set(OUT_OF_SCOPE) and len(set(UNANSWERABLE)) == len(UNANSWERABLE)
    assert not set(df.question) & set(support_replies().question)
    assert set(df[df.answerable].intent) == set(KNOWLEDGE_BASE)  # answerable: a document exists
    assert (df[~df.answerable].key_fact == "").all()
    val_wordings, test_wordings = set(df[df.split == "val"].wording), set(test.wording)
    assert not val_wordings & test_wordings
    assert df.equals(evaluation_questions()) and not df.equals(evaluation_questions(seed=1))

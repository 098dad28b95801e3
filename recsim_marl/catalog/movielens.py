"""MovieLens-100k: real titles, years, genres and ratings.

Reads either the standard GroupLens files (``u.item``, ``u.data``, ``u.user``) or RecBole's atomic
files (``ml-100k.item``, ``ml-100k.inter``, ``ml-100k.user``), from a folder given by the caller or
from the copy the PyPI package ``recbole`` installs (``pip install --no-deps recbole``). The data is
read where it lies and never copied into this repository.

Item text = "Title (year). Genres: a, b." Quality = Bayesian-shrunk mean rating, standardised. Appeal =
how much more a movie was watched (rated) than its quality explains: the residual of log(1 + ratings)
regressed on quality, standardised.
A person's liked items (rated >= 4) define their initial interest; their text is their demographics.

Splits (:func:`movielens_pool`): the test split holds the movies released in 1997-1998 (273) and one
person in five, by a hash of their id (185 who rated one of those movies); the training split the other
1,391 movies and 752 people. The 18 films listed twice under two ids are merged first (1,664 films).
Each world draws its movies and people from its split's pool, as synthetic worlds do.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from recsim_marl.catalog.base import Catalog
from recsim_marl.catalog.synthetic import split_of
from recsim_marl.config import SPLITS

GENRES_ML = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
]
LIKED_RATING = 4
SHRINK = 10.0  # pseudo-ratings of the global mean in the Bayesian average
TEST_YEARS = ("1997", "1998")
"""Movies released in these years (the data was collected from September 1997 to April 1998) form the
test split's items."""


class DatasetError(ValueError):
    """A dataset file is missing, unreadable or malformed."""


def find_movielens() -> Path:
    """The ml-100k folder shipped inside an installed ``recbole``."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or spec.origin is None:
        raise DatasetError(
            "MovieLens-100k was not found: install the copy shipped by RecBole with "
            "`pip install --no-deps recbole`, or pass data_path='<folder with u.item/u.data/u.user>'."
        )
    folder = Path(spec.origin).parent / "dataset_example" / "ml-100k"
    if not folder.is_dir():
        raise DatasetError(f"recbole is installed but {folder} does not exist; reinstall recbole")
    return folder


def _rows(path: Path, sep: str, ncols: int, header: bool, encoding: str):
    if not path.exists():
        raise DatasetError(f"dataset file {path} does not exist")
    try:
        lines = path.read_text(encoding=encoding).splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read dataset file {path}: {exc}") from exc
    start = 1 if header else 0
    for lineno, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        parts = line.split(sep)
        if len(parts) < ncols:
            raise DatasetError(
                f"{path}:{lineno}: expected {ncols} fields separated by {sep!r}, got {len(parts)}: {line[:80]!r}"
            )
        yield lineno, parts


def _int(path, lineno, value, what):
    try:
        number = float(value)
    except ValueError:
        raise DatasetError(f"{path}:{lineno}: {what} {value!r} is not a number") from None
    if not number.is_integer():
        raise DatasetError(f"{path}:{lineno}: {what} {value!r} is not a whole number")
    return int(number)


def _read_standard(folder: Path):
    items = {}
    for lineno, p in _rows(folder / "u.item", "|", 24, False, "latin-1"):
        iid = _int(folder / "u.item", lineno, p[0], "item id")
        title = p[1].strip()
        year = ""
        if title.endswith(")") and "(" in title:
            title, year = title[: title.rfind("(")].strip(), title[title.rfind("(") + 1 : -1]
        genres = [g for g, flag in zip(GENRES_ML, p[5:24]) if flag.strip() == "1"]
        items[iid] = (title, year, genres)
    ratings = [
        (_int(folder / "u.data", n, p[0], "user id"), _int(folder / "u.data", n, p[1], "item id"),
         _int(folder / "u.data", n, p[2], "rating"))
        for n, p in _rows(folder / "u.data", "\t", 3, False, "latin-1")
    ]
    users = {
        _int(folder / "u.user", n, p[0], "user id"): (p[1], p[2], p[3])
        for n, p in _rows(folder / "u.user", "|", 4, False, "latin-1")
    }
    return items, ratings, users


def _read_atomic(folder: Path):
    items = {}
    path = folder / "ml-100k.item"
    for lineno, p in _rows(path, "\t", 4, True, "utf-8"):
        items[_int(path, lineno, p[0], "item id")] = (p[1].strip(), p[2].strip(), p[3].split())
    path = folder / "ml-100k.inter"
    ratings = [
        (_int(path, n, p[0], "user id"), _int(path, n, p[1], "item id"), _int(path, n, p[2], "rating"))
        for n, p in _rows(path, "\t", 3, True, "utf-8")
    ]
    path = folder / "ml-100k.user"
    users = {_int(path, n, p[0], "user id"): (p[1], p[2], p[3]) for n, p in _rows(path, "\t", 4, True, "utf-8")}
    return items, ratings, users


def _read(folder: Path):
    if (folder / "u.item").exists():
        items, ratings, users = _read_standard(folder)
    elif (folder / "ml-100k.item").exists():
        items, ratings, users = _read_atomic(folder)
    else:
        raise DatasetError(
            f"{folder} holds neither u.item/u.data/u.user nor ml-100k.item/.inter/.user"
        )
    if not ratings or not items or not users:
        raise DatasetError(f"{folder}: the dataset is empty")
    for r in ratings:
        if not 1 <= r[2] <= 5:
            raise DatasetError(f"{folder}: rating {r[2]} outside 1..5")
    unknown = sorted({r[1] for r in ratings} - set(items))[:3] + sorted({r[0] for r in ratings} - set(users))[:3]
    if unknown:
        raise DatasetError(f"{folder}: ratings name items or people the item/user files do not list: {unknown}")
    # a film listed twice under two ids (18 in ML-100k) is one film: its ratings go to its first id
    first: dict[tuple, int] = {}
    same = {iid: first.setdefault(items[iid][:2], iid) for iid in sorted(items)}
    items = {iid: v for iid, v in items.items() if same[iid] == iid}
    ratings = [(u, same[i], r) for u, i, r in ratings]
    return items, ratings, users


def item_split(year: str) -> str:
    """An item's split: ``"test"`` for movies released in 1997 or 1998, the last two years of the data
    (273 of 1,664 films), else ``"train"``: a policy is tested on movies newer than any it met."""
    return "test" if year.strip() in TEST_YEARS else "train"


def person_split(user_id: int) -> str:
    """A person's split, by a hash of their id (one in five to ``"test"``: 191 of 943 people; 185 of them rated a film of 1997-1998)."""
    return split_of(f"MovieLens-100k user {user_id}")


def movielens_pool(split: str = "train", data_path: str | None = None) -> Catalog:
    """The ``split``'s pool of MovieLens-100k: its movies (:func:`item_split`, by release year) and its
    people (:func:`person_split`, by id), in id order; a world draws its items and people from it.

    Item quality (the shrunk mean rating) and appeal (how much more a movie was rated than its quality
    explains) come from all of its ratings (of both splits' people) and are standardised over all 1,664
    films, so that a film has one quality everywhere. A person's interest comes from the split's films they
    liked (or, liking none, rated): no film of the other split is in a pool or shapes a taste, and a person
    who rated none of the split's films is left out (6 of the 191 held-out people: no taste to start
    from). Activity (how often a person returns) is their number of ratings of any film against the
    median of all 943 people. For calibration, ``item_counts`` counts each film's ratings by the split's
    people; ``user_counts`` each person's ratings of any film (their activity, as above: counted over the
    split's films only, the held-out years would make people who rated many new films look idle).
    """
    if split not in SPLITS or split == "validation":
        raise ValueError(f"split={split!r} is invalid for MovieLens-100k: use 'train' or 'test'")
    folder = Path(data_path).expanduser() if data_path else find_movielens()
    items, ratings, users = _read(folder)
    item_ids = sorted(items)
    index_of = {iid: k for k, iid in enumerate(item_ids)}
    r = np.asarray(ratings, dtype=np.int64)
    col = np.asarray([index_of[i] for i in r[:, 1].tolist()], dtype=np.int64)
    n = np.bincount(col, minlength=len(item_ids)).astype(np.float64)
    sums = np.bincount(col, weights=r[:, 2].astype(np.float64), minlength=len(item_ids))
    global_mean = float(r[:, 2].mean())
    shrunk = (sums + SHRINK * global_mean) / (n + SHRINK)
    quality = (shrunk - shrunk.mean()) / max(shrunk.std(), 1e-8)
    log_n = np.log1p(n)
    slope = float(np.dot(quality, log_n - log_n.mean()) / max(float(np.dot(quality, quality)), 1e-8))
    resid = log_n - log_n.mean() - slope * quality
    appeal = resid / max(resid.std(), 1e-8)

    texts = []
    for iid in item_ids:
        title, year, genres = items[iid]
        g = ", ".join(genres) if genres else "unknown"
        texts.append(f"{title} ({year}). Genres: {g}." if year else f"{title}. Genres: {g}.")
    mine = [k for k, iid in enumerate(item_ids) if item_split(items[iid][1]) == split]
    in_pool = set(mine)
    rated: dict[int, list[int]] = {u: [] for u in sorted(users) if person_split(u) == split}
    liked: dict[int, list[int]] = {u: [] for u in rated}
    for uid, iid, rating in ratings:
        k = index_of[iid]
        if uid in rated and k in in_pool:
            rated[uid].append(k)
            if rating >= LIKED_RATING:
                liked[uid].append(k)
    people = [u for u in rated if rated[u]]
    if not mine or not people:
        raise DatasetError(
            f"{folder}: the {split!r} split holds {len(mine)} movies and {len(people)} people who rated one of them; "
            f"both must be > 0 (test movies are those released in {' or '.join(TEST_YEARS)}, test people one in "
            "five by id)"
        )
    user_texts = []
    for uid in people:
        age, gender, occupation = users[uid]
        who = {"M": "man", "F": "woman"}.get(gender, "person")
        user_texts.append(f"A {age}-year-old {who} who works as a {occupation}.")
    every = np.bincount(r[:, 0], minlength=max(users) + 1).astype(np.float64)
    user_n = every[people]
    # how often a person comes back: their number of ratings relative to the median person's (at least 1
    # rating, and within a factor 10 either way, so nobody never returns or never leaves)
    activity = np.clip(np.maximum(user_n, 1.0) / max(float(np.median(every[sorted(users)])), 1.0), 0.1, 10.0)
    in_split = np.isin(r[:, 0], people) & np.isin(col, mine)
    pos = {k: j for j, k in enumerate(mine)}
    item_counts = np.bincount([pos[k] for k in col[in_split].tolist()], minlength=len(mine)).astype(np.float64)
    return Catalog(
        item_texts=[texts[k] for k in mine],
        user_texts=user_texts,
        item_quality=quality[mine],
        item_length=np.ones(len(mine)),
        item_appeal=appeal[mine],
        user_liked_items=[np.asarray([pos[k] for k in liked[u] or rated[u]], dtype=np.int64) for u in people],
        user_activity=activity,
        item_counts=item_counts,
        user_counts=user_n,
        name=f"movielens-100k ({split})",
        item_titles=[items[item_ids[k]][0][:40] for k in mine],
    )

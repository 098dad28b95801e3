"""MovieLens-100k: real titles, years, genres and ratings.

Reads either the standard GroupLens files (``u.item``, ``u.data``, ``u.user``) or RecBole's atomic
files (``ml-100k.item``, ``ml-100k.inter``, ``ml-100k.user``), from a folder given by the caller or
from the copy the PyPI package ``recbole`` installs (``pip install --no-deps recbole``). The data is
read where it lies and never copied into this repository.

Item text = "Title (year). Genres: a, b." Quality = Bayesian-shrunk mean rating, standardised. Appeal =
how much more a movie was watched (rated) than its quality explains: the residual of log(1 + ratings)
regressed on quality, standardised.
A person's liked items (rated >= 4) define their initial interest; their text is their demographics.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from recsim_marl.catalog.base import Catalog

GENRES_ML = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
]
LIKED_RATING = 4
SHRINK = 10.0  # pseudo-ratings of the global mean in the Bayesian average


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
        return int(float(value))
    except ValueError:
        raise DatasetError(f"{path}:{lineno}: {what} {value!r} is not a number") from None


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


def movielens_catalog(num_items: int, num_users: int, data_path: str | None = None) -> Catalog:
    """The ``num_items`` most-rated movies and the ``num_users`` people with the most ratings of them."""
    folder = Path(data_path).expanduser() if data_path else find_movielens()
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
    if num_items > len(items) or num_users > len(users):
        raise ValueError(
            f"MovieLens-100k has {len(items)} items and {len(users)} people; "
            f"got num_items={num_items}, num_users={num_users}"
        )
    r = np.asarray(ratings, dtype=np.int64)
    item_ids = np.asarray(sorted(items), dtype=np.int64)
    counts = {i: 0 for i in item_ids.tolist()}
    for iid in r[:, 1].tolist():
        if iid in counts:
            counts[iid] += 1
    chosen = sorted(counts, key=lambda i: (-counts[i], i))[:num_items]
    chosen.sort()
    index_of = {iid: k for k, iid in enumerate(chosen)}
    keep = np.asarray([iid in index_of for iid in r[:, 1].tolist()])
    r = r[keep]
    user_counts: dict[int, int] = {}
    for uid in r[:, 0].tolist():
        user_counts[uid] = user_counts.get(uid, 0) + 1
    ranked_users = sorted(users, key=lambda u: (-user_counts.get(u, 0), u))[:num_users]
    ranked_users.sort()

    global_mean = float(r[:, 2].mean()) if len(r) else 3.0
    sums = np.zeros(len(chosen))
    n = np.zeros(len(chosen))
    for _, iid, rating in r.tolist():
        sums[index_of[iid]] += rating
        n[index_of[iid]] += 1
    shrunk = (sums + SHRINK * global_mean) / (n + SHRINK)
    quality = (shrunk - shrunk.mean()) / max(shrunk.std(), 1e-8)
    log_n = np.log1p(n)
    slope = float(np.dot(quality, log_n - log_n.mean()) / max(float(np.dot(quality, quality)), 1e-8))
    resid = log_n - log_n.mean() - slope * quality
    appeal = resid / max(resid.std(), 1e-8)

    texts, titles = [], []
    for iid in chosen:
        title, year, genres = items[iid]
        g = ", ".join(genres) if genres else "unknown"
        texts.append(f"{title} ({year}). Genres: {g}." if year else f"{title}. Genres: {g}.")
        titles.append(title[:40])

    liked: dict[int, list[int]] = {u: [] for u in ranked_users}
    rated: dict[int, list[int]] = {u: [] for u in ranked_users}
    for uid, iid, rating in r.tolist():
        if uid in liked:
            rated[uid].append(index_of[iid])
            if rating >= LIKED_RATING:
                liked[uid].append(index_of[iid])
    user_texts = []
    for uid in ranked_users:
        age, gender, occupation = users[uid]
        who = {"M": "man", "F": "woman"}.get(gender, "person")
        user_texts.append(f"A {age}-year-old {who} who works as a {occupation}.")
    liked_items = [np.asarray(liked[u] or rated[u], dtype=np.int64) for u in ranked_users]
    user_n = np.asarray([len(rated[u]) for u in ranked_users], dtype=np.float64)
    # how often a person comes back: their number of ratings relative to the median person's (at least 1
    # rating, and within a factor 10 either way, so nobody never returns or never leaves)
    activity = np.clip(np.maximum(user_n, 1.0) / max(float(np.median(user_n)), 1.0), 0.1, 10.0)
    return Catalog(
        item_texts=texts,
        user_texts=user_texts,
        item_quality=quality,
        item_length=np.ones(len(chosen)),
        item_appeal=appeal,
        user_liked_items=liked_items,
        user_activity=activity,
        item_counts=n.copy(),
        user_counts=user_n,
        name="movielens-100k",
        item_titles=titles,
    )

"""Synthetic texts: varied, human-readable item descriptions and person profiles, and the pools that
worlds draw their catalogues from.

The texts are real sentences composed from genre, mood, format, topic, setting and audience (about
3 million item descriptions and far more person profiles), so that the encoder's geometry means
something: two thrillers about spies land closer than a thriller and a cooking show. Item quality is
N(0, 1); length follows the format (a clip is short, a film long); appeal (how clickable) is N(0, 1)
with correlation ``appeal_quality_correlation`` to quality.

Pools (:func:`synthetic_pool`): one fixed stream of items and one of people, each text sent to the
``train`` or the ``test`` split by a hash of the text itself (:func:`split_of`: one in five to
``test``), so the two splits share no text, on any machine, for any pool size; a split's pool of n
entries is the first n of its stream (a smaller pool is a prefix of a bigger one, and the embedding
cache encodes each text once). The ``validation`` pool of n entries is the training stream's next n,
after the training pool of n: new items and people from the training distribution.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np

from recsim_marl.catalog.base import Catalog
from recsim_marl.config import SPLITS

GENRES = [
    "science fiction", "romantic comedy", "crime thriller", "horror", "fantasy adventure",
    "historical drama", "documentary", "animated family", "stand-up comedy", "cooking",
    "true crime", "sports", "nature", "musical", "western", "war", "superhero", "mystery",
    "travel", "technology",
]
MOODS = [
    "heartwarming", "dark", "suspenseful", "lighthearted", "thought-provoking", "uplifting",
    "melancholic", "action-packed", "quirky", "gritty", "relaxing", "inspiring",
]
FORMATS = {  # format -> typical length in engagement units
    "short clip": 0.3,
    "music video": 0.3,
    "news article": 0.5,
    "podcast episode": 1.0,
    "series episode": 1.0,
    "live stream": 1.2,
    "documentary film": 1.6,
    "feature film": 2.0,
}
TOPICS = [
    "a space mission", "first love", "a bank heist", "a haunted house", "a dragon hunt",
    "a royal family", "climate change", "talking animals", "everyday life", "street food",
    "a serial killer", "an underdog team", "ocean wildlife", "a Broadway show", "a frontier town",
    "a resistance fighter", "a masked vigilante", "a missing heiress", "a road trip", "artificial intelligence",
]
SETTINGS = [
    "Tokyo", "a small village", "Mars", "Victorian London", "New York", "the Sahara",
    "a medieval kingdom", "a high school", "the deep sea", "Paris",
]
AUDIENCES = ["kids", "teenagers", "young adults", "families", "adults", "seniors", "fans of the genre", "everyone"]
OCCUPATIONS = [
    "nurse", "software engineer", "student", "teacher", "retired pilot", "chef", "lawyer",
    "farmer", "artist", "accountant", "musician", "scientist", "shop owner", "firefighter",
]
NAMES = [
    "Ava", "Ben", "Chen", "Dara", "Elif", "Femi", "Gita", "Hugo", "Ines", "Jon", "Kemal",
    "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tomas", "Uma", "Vik",
    "Wen", "Xena", "Yusuf", "Zoe",
]


def _a(word: str) -> str:
    """The indefinite article for ``word``: 'an' before a vowel sound (by spelling, plus 8/11/18/80s)."""
    vowel = word[0].lower() in "aeiou" or word.split("-")[0] in ("8", "11", "18") or word.startswith("8")
    return "an" if vowel else "a"


def _item_stream(rng: np.random.Generator) -> Iterator[tuple[str, str, float, float, float]]:
    """Endless ``(text, title, length, quality, appeal noise)`` items, a pure function of ``rng``'s seed."""
    formats = list(FORMATS)

    def pick(seq):
        return seq[int(rng.integers(len(seq)))]

    while True:
        genre, mood, fmt = pick(GENRES), pick(MOODS), pick(formats)
        topic, setting, audience = pick(TOPICS), pick(SETTINGS), pick(AUDIENCES)
        text = f"{_a(mood).capitalize()} {mood} {genre} {fmt} about {topic}, set in {setting}. Made for {audience}."
        length = FORMATS[fmt] * float(np.exp(0.2 * rng.standard_normal()))
        quality, noise = rng.standard_normal(2)
        yield text, f"{mood} {genre} {fmt}", length, float(quality), float(noise)


def _person_stream(rng: np.random.Generator) -> Iterator[str]:
    """Endless person profiles, a pure function of ``rng``'s seed."""
    formats = list(FORMATS)

    def pick(seq):
        return seq[int(rng.integers(len(seq)))]

    while True:
        g1, g2 = rng.choice(len(GENRES), size=2, replace=False)
        age = int(rng.integers(12, 80))
        fmt = pick(formats)
        yield (f"{pick(NAMES)}, {_a(str(age))} {age}-year-old {pick(OCCUPATIONS)}, loves {GENRES[g1]} and "
               f"{GENRES[g2]}, especially {pick(MOODS)} stories about {pick(TOPICS)}, and usually watches "
               f"{_a(fmt)} {fmt}.")


def _catalog(items: list, user_texts: list[str], appeal_quality_correlation: float, name: str) -> Catalog:
    r = appeal_quality_correlation
    quality = np.asarray([it[3] for it in items], dtype=np.float64)
    noise = np.asarray([it[4] for it in items], dtype=np.float64)
    return Catalog(
        item_texts=[it[0] for it in items],
        user_texts=user_texts,
        item_quality=quality,
        item_appeal=r * quality + np.sqrt(1.0 - r * r) * noise,
        item_length=np.asarray([it[2] for it in items], dtype=np.float64),
        name=name,
        item_titles=[it[1] for it in items],
    )


def synthetic_catalog(num_items: int, num_users: int, seed: int = 0, appeal_quality_correlation: float = -0.3) -> Catalog:
    """A catalogue of ``num_items`` items and ``num_users`` people, a pure function of ``seed`` (the
    streams' first entries, both splits mixed; worlds draw from :func:`synthetic_pool` instead)."""
    items, people = _item_stream(np.random.default_rng([seed, 0])), _person_stream(np.random.default_rng([seed, 1]))
    return _catalog([next(items) for _ in range(num_items)], [next(people) for _ in range(num_users)],
                    appeal_quality_correlation, "synthetic")


TEST_SHARE = 5
"""One text in ``TEST_SHARE`` belongs to the test split."""
POOL_SEED = 17
"""The seed of the pools' streams (fixed: a pool is a function of its split and size only)."""


def split_of(text: str) -> str:
    """``"train"`` or ``"test"``: where a text belongs, by a hash of the text (the same everywhere)."""
    h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    return "test" if h % TEST_SHARE == 0 else "train"


def synthetic_pool(num_items: int, num_users: int, split: str = "train",
                   appeal_quality_correlation: float = -0.3) -> Catalog:
    """The ``split`` pool: its first ``num_items`` items and ``num_users`` people (see the module docstring).
    ``"validation"``: the training stream's next ``num_items`` items and ``num_users`` people after the
    training pool of that size (skipping any text of that pool the stream repeats), so they are drawn as
    the training pool's are and are never in it."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is invalid: use one of {SPLITS}")
    stream = "train" if split == "validation" else split
    items, people = _item_stream(np.random.default_rng([POOL_SEED, 0])), _person_stream(np.random.default_rng([POOL_SEED, 1]))

    def take(entries, n, text=lambda e: e):
        out = []
        while len(out) < n:
            e = next(entries)
            if split_of(text(e)) == stream:
                out.append(e)
        if split != "validation":
            return out
        seen, rest = {text(e) for e in out}, []  # the training pool's texts: skipped if the stream repeats one
        while len(rest) < n:
            e = next(entries)
            if split_of(text(e)) == stream and text(e) not in seen:
                rest.append(e)
        return rest

    return _catalog(take(items, num_items, lambda it: it[0]), take(people, num_users), appeal_quality_correlation,
                    f"synthetic pool ({split})")

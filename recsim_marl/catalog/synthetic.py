"""A seeded synthetic catalogue: varied, human-readable item descriptions and person profiles.

The texts are real sentences composed from genre, mood, format, topic, setting and audience, so that
the encoder's geometry means something: two thrillers about spies land closer than a thriller and a
cooking show. Item quality is N(0, 1); length follows the format (a clip is short, a film long); appeal
(how clickable) is N(0, 1) with correlation ``appeal_quality_correlation`` to quality.
"""

from __future__ import annotations

import numpy as np

from recsim_marl.catalog.base import Catalog

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


def synthetic_catalog(num_items: int, num_users: int, seed: int = 0, appeal_quality_correlation: float = -0.3) -> Catalog:
    """A catalogue of ``num_items`` items and ``num_users`` people, a pure function of ``seed``."""
    rng = np.random.Generator(np.random.PCG64(seed))
    formats = list(FORMATS)

    def pick(seq):
        return seq[int(rng.integers(len(seq)))]

    item_texts, titles, lengths = [], [], []
    for _ in range(num_items):
        genre, mood, fmt = pick(GENRES), pick(MOODS), pick(formats)
        topic, setting, audience = pick(TOPICS), pick(SETTINGS), pick(AUDIENCES)
        item_texts.append(
            f"{_a(mood).capitalize()} {mood} {genre} {fmt} about {topic}, set in {setting}. Made for {audience}."
        )
        titles.append(f"{mood} {genre} {fmt}")
        lengths.append(FORMATS[fmt] * float(np.exp(0.2 * rng.standard_normal())))
    quality = rng.standard_normal(num_items)

    user_texts = []
    for _ in range(num_users):
        g1, g2 = rng.choice(len(GENRES), size=2, replace=False)
        age = int(rng.integers(12, 80))
        fmt = pick(formats)
        user_texts.append(
            f"{pick(NAMES)}, {_a(str(age))} {age}-year-old {pick(OCCUPATIONS)}, loves {GENRES[g1]} and {GENRES[g2]}, "
            f"especially {pick(MOODS)} stories about {pick(TOPICS)}, and usually watches {_a(fmt)} {fmt}."
        )
    r = appeal_quality_correlation  # drawn last, so texts and quality do not depend on it
    appeal = r * quality + np.sqrt(1.0 - r * r) * rng.standard_normal(num_items)
    return Catalog(
        item_texts=item_texts,
        user_texts=user_texts,
        item_quality=quality.astype(np.float64),
        item_appeal=appeal.astype(np.float64),
        item_length=np.asarray(lengths, dtype=np.float64),
        name="synthetic",
        item_titles=titles,
    )

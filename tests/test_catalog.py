"""Catalogues: seeded synthetic texts, MovieLens-100k in both file formats, user-supplied texts."""

import numpy as np
import torch

import recsim_marl
from recsim_marl.catalog import find_movielens, movielens_catalog, synthetic_catalog
from recsim_marl.core.world import build_world


def test_synthetic_catalog_is_seeded_and_varied():
    a, b, c = synthetic_catalog(200, 30, seed=0), synthetic_catalog(200, 30, seed=0), synthetic_catalog(200, 30, seed=1)
    assert a.item_texts == b.item_texts and a.user_texts == b.user_texts
    assert np.array_equal(a.item_quality, b.item_quality)
    assert a.item_texts != c.item_texts
    assert len(set(a.item_texts)) >= 195  # varied: almost no duplicates
    assert all(t[0].isupper() and t.endswith(".") for t in a.item_texts)  # real sentences
    assert abs(a.item_quality.mean()) < 0.3 and 0.7 < a.item_quality.std() < 1.3
    clips = [ln for t, ln in zip(a.item_texts, a.item_length) if "short clip" in t]
    films = [ln for t, ln in zip(a.item_texts, a.item_length) if "feature film" in t]
    assert np.mean(films) > 3 * np.mean(clips)


def test_movielens_from_recbole_package():
    folder = find_movielens()
    assert (folder / "ml-100k.item").exists()
    cat = movielens_catalog(1682, 943)
    assert len(cat.item_texts) == 1682 and len(cat.user_texts) == 943
    toy = [t for t in cat.item_texts if t.startswith("Toy Story")]
    assert toy == ["Toy Story (1995). Genres: Animation, Children's, Comedy."]
    assert all(len(ix) > 0 for ix in cat.user_liked_items)
    # quality follows ratings: Star Wars (rated highly by many) is far above the mean
    star = cat.item_texts.index(next(t for t in cat.item_texts if t.startswith("Star Wars")))
    assert cat.item_quality[star] > 1.5


def _write_standard(folder):
    genres = ["0"] * 19
    action, comedy = list(genres), list(genres)
    action[1] = "1"
    comedy[5] = "1"
    (folder / "u.item").write_text(
        "1|Heat (1995)|01-Jan-1995||http://x|" + "|".join(action) + "\n"
        "2|Clueless (1995)|01-Jan-1995||http://x|" + "|".join(comedy) + "\n"
        "3|Casino (1995)|01-Jan-1995||http://x|" + "|".join(action) + "\n",
        encoding="latin-1",
    )
    (folder / "u.data").write_text("1\t1\t5\t0\n1\t2\t1\t0\n2\t2\t5\t0\n2\t3\t4\t0\n3\t1\t2\t0\n")
    (folder / "u.user").write_text("1|30|M|engineer|1\n2|25|F|writer|2\n3|60|F|retired|3\n")


def test_movielens_standard_files(tmp_path):
    _write_standard(tmp_path)
    cat = movielens_catalog(3, 3, str(tmp_path))
    assert cat.item_texts == [
        "Heat (1995). Genres: Action.",
        "Clueless (1995). Genres: Comedy.",
        "Casino (1995). Genres: Action.",
    ]
    assert cat.user_texts[1] == "A 25-year-old woman who works as a writer."
    # person 1 liked Heat (5) not Clueless (1); person 2 liked Clueless and Casino
    assert cat.user_liked_items[0].tolist() == [0]
    assert cat.user_liked_items[1].tolist() == [1, 2]
    # person 3 liked nothing (rated Heat 2): falls back to what they rated
    assert cat.user_liked_items[2].tolist() == [0]


def test_movielens_world_interest_comes_from_liked_items(tmp_path):
    _write_standard(tmp_path)
    c = recsim_marl.make_config("movielens-100k", data_path=str(tmp_path), num_users=3, num_items=3,
                                num_candidates=2, embed_dim=384)
    w = build_world(c, "cpu")
    assert torch.allclose(w.profile[0], w.content[0], atol=1e-5)  # only Heat was liked
    both = torch.nn.functional.normalize(w.content[1] + w.content[2], dim=0)
    assert torch.allclose(w.profile[1], both, atol=1e-5)


def test_movielens_subset_takes_the_most_rated_items():
    cat = movielens_catalog(50, 20)
    assert len(cat.item_texts) == 50
    assert any(t.startswith("Star Wars") for t in cat.item_texts)

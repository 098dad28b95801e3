"""Catalogues: seeded synthetic texts, MovieLens-100k in both file formats, user-supplied texts."""

import numpy as np
import torch

import recsim_marl
from recsim_marl.catalog import find_movielens, movielens_pool, synthetic_catalog
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
    from recsim_marl.catalog.movielens import TEST_YEARS

    folder = find_movielens()
    assert (folder / "ml-100k.item").exists()
    train, test = movielens_pool("train"), movielens_pool("test")
    assert (len(train.item_texts), len(train.user_texts)) == (1391, 752)
    assert (len(test.item_texts), len(test.user_texts)) == (273, 185)  # 6 held-out people rated no 1997-98 film
    assert len(set(train.item_texts)) == 1391 and len(set(test.item_texts)) == 273  # films listed twice: merged
    assert "Toy Story (1995). Genres: Animation, Children's, Comedy." in train.item_texts
    # the test split's movies are those of the last two years of the data, and only those
    assert all(any(f"({y})" in t for y in TEST_YEARS) for t in test.item_texts)
    assert not any(any(f"({y})" in t for y in TEST_YEARS) for t in train.item_texts)
    assert not set(train.item_texts) & set(test.item_texts)
    assert all(len(ix) > 0 for ix in train.user_liked_items + test.user_liked_items)
    # quality follows ratings, over all of them: Star Wars (rated highly by many) is far above the mean
    star = train.item_texts.index(next(t for t in train.item_texts if t.startswith("Star Wars")))
    assert train.item_quality[star] > 1.5
    # data counts for calibration: a movie's ratings by the split's people, a person's ratings of any movie
    assert train.item_counts.sum() == 67404 and test.item_counts.sum() == 3525
    assert min(train.user_counts.min(), test.user_counts.min()) >= 20  # everyone in ML-100k rated 20 movies


def _write_standard(folder):
    genres = ["0"] * 19
    action, comedy = list(genres), list(genres)
    action[1] = "1"
    comedy[5] = "1"
    (folder / "u.item").write_text(
        "1|Heat (1995)|01-Jan-1995||http://x|" + "|".join(action) + "\n"
        "2|Clueless (1995)|01-Jan-1995||http://x|" + "|".join(comedy) + "\n"
        "3|Casino (1995)|01-Jan-1995||http://x|" + "|".join(action) + "\n"
        "4|Titanic (1997)|01-Jan-1997||http://x|" + "|".join(comedy) + "\n",
        encoding="latin-1",
    )
    # person 8 is held out (recsim_marl.catalog.movielens.person_split), 1-3 are not
    (folder / "u.data").write_text("1\t1\t5\t0\n1\t2\t1\t0\n2\t2\t5\t0\n2\t3\t4\t0\n3\t1\t2\t0\n1\t4\t5\t0\n"
                                   "8\t4\t5\t0\n8\t1\t4\t0\n")
    (folder / "u.user").write_text("1|30|M|engineer|1\n2|25|F|writer|2\n3|60|F|retired|3\n8|40|M|doctor|4\n")


def test_movielens_standard_files_and_their_splits(tmp_path):
    from recsim_marl.catalog.movielens import person_split

    assert [person_split(u) for u in (1, 2, 3, 8)] == ["train", "train", "train", "test"]
    _write_standard(tmp_path)
    cat = movielens_pool("train", str(tmp_path))
    assert cat.item_texts == [
        "Heat (1995). Genres: Action.",
        "Clueless (1995). Genres: Comedy.",
        "Casino (1995). Genres: Action.",
    ]
    assert cat.user_texts[1] == "A 25-year-old woman who works as a writer."
    # person 1 liked Heat (5), not Clueless (1), and Titanic, a film of the other split that shapes no pool
    # of this one; person 2 liked Clueless and Casino
    assert cat.user_liked_items[0].tolist() == [0]
    assert cat.user_liked_items[1].tolist() == [1, 2]
    # person 3 liked nothing (rated Heat 2): falls back to what they rated
    assert cat.user_liked_items[2].tolist() == [0]
    assert cat.item_counts.tolist() == [2, 2, 1] and cat.user_counts.tolist() == [3, 2, 1]  # person: any film
    test = movielens_pool("test", str(tmp_path))
    assert test.item_texts == ["Titanic (1997). Genres: Comedy."]
    assert test.user_texts == ["A 40-year-old man who works as a doctor."]
    assert test.user_liked_items[0].tolist() == [0]
    assert test.item_counts.tolist() == [1]  # Titanic by person 8; person 1's rating is the other split's


def test_movielens_world_interest_comes_from_liked_items(tmp_path):
    _write_standard(tmp_path)
    c = recsim_marl.make_config("movielens-100k", data_path=str(tmp_path), num_users=3, num_items=3,
                                num_candidates=2, embed_dim=384)
    w = build_world(c, "cpu")
    assert torch.allclose(w.profile[0], w.content[0], atol=1e-5)  # of this pool's films, only Heat was liked
    both = torch.nn.functional.normalize(w.content[1] + w.content[2], dim=0)
    assert torch.allclose(w.profile[1], both, atol=1e-5)


def test_training_on_movielens_worlds_too_big_for_the_test_split_stops_before_it_starts(tmp_path):
    import pytest

    from agents import mappo

    args = mappo.Args(scenario="movielens-100k", env={"num_items": 300}, total_steps=10, num_envs=1, num_steps=2,
                      num_minibatches=1, log_dir=str(tmp_path), progress=False, tensorboard=False)
    with pytest.raises(ValueError, match="final evaluation runs on held-out worlds .test split. and .*holds 273 items"):
        mappo.train(args)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_movielens_worlds_draw_from_their_split():
    import pytest

    from recsim_marl.protocol import held_out

    assert held_out(recsim_marl.make_config("movielens-100k")).split == "test"  # held-out people and movies
    with pytest.raises(ValueError, match="is a scenario: pass scenario='movielens-100k'"):
        recsim_marl.make_vec(2, "movielens-100k")  # the second positional argument is the device
    venv = recsim_marl.make_vec(2, scenario="movielens-100k", split="test")
    venv.reset(seed=10_000)
    items, people = venv.current.items, venv.current.people
    assert items.shape == (2, 200) and people.shape == (2, 100)
    assert not torch.equal(items[0], items[1]) and not torch.equal(people[0], people[1])  # two seeds, two worlds
    assert int(items.max()) < 273 and int(people.max()) < 185  # pool indices of the test split
    with pytest.raises(ValueError, match="holds 273 items and 185 people"):
        recsim_marl.make_vec(1, scenario="movielens-100k", split="test", num_items=300)


def test_a_movielens_copy_without_a_split_says_so(tmp_path):
    import pytest

    from recsim_marl.catalog import DatasetError

    _write_standard(tmp_path)
    lines = (tmp_path / "u.item").read_text(encoding="latin-1").splitlines()
    (tmp_path / "u.item").write_text("\n".join(lines[:3]) + "\n", encoding="latin-1")  # no film of 1997-1998
    (tmp_path / "u.data").write_text("1\t1\t5\t0\n8\t1\t4\t0\n")
    with pytest.raises(DatasetError, match="'test' split holds 0 movies and 0 people who rated one of them"):
        movielens_pool("test", str(tmp_path))
    (tmp_path / "u.data").write_text("1\t1\t5\t0\n9\t1\t4\t0\n")  # person 9 is not in u.user
    with pytest.raises(DatasetError, match="do not list: \\[9\\]"):
        movielens_pool("train", str(tmp_path))

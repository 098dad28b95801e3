"""A catalogue and a population per world, drawn from split pools (issue 17 item 1).

Each env seed is its own world: its items (text, quality, appeal, length) and people come from its
split's pools; ``split="test"`` pools share no item text and no person text with ``split="train"``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import recsim_marl
from recsim_marl.catalog import split_of, synthetic_pool
from recsim_marl.reference import ReferenceSim, draw_catalogue


def texts_of(venv, b: int) -> tuple[set, set]:
    cat, s = venv.world.catalog, venv.current
    return ({cat.item_texts[j] for j in s.items[b].tolist()}, {cat.user_texts[j] for j in s.people[b].tolist()})


def test_train_and_test_worlds_of_retention_share_no_item_text_and_no_person_text():
    kw = dict(num_envs=6, scenario="retention", encoder="hash")
    train, test = recsim_marl.make_vec(split="train", **kw), recsim_marl.make_vec(split="test", **kw)
    train.reset(seed=0)
    test.reset(seed=0)  # the same seeds: only the split differs
    train_items, train_people, test_items, test_people = set(), set(), set(), set()
    for b in range(6):
        (i, p), (ti, tp) = texts_of(train, b), texts_of(test, b)
        train_items |= i
        train_people |= p
        test_items |= ti
        test_people |= tp
    assert not train_items & test_items and not train_people & test_people
    assert len(train_items) > 1000 and len(test_items) > 1000  # six worlds of 256 items, mostly different
    assert {split_of(t) for t in test_items | test_people} == {"test"}
    assert {split_of(t) for t in train_items | train_people} == {"train"}
    # the whole pools are disjoint too, not only what these worlds drew
    a, b = synthetic_pool(2048, 512, "train"), synthetic_pool(2048, 512, "test")
    assert not set(a.item_texts) & set(b.item_texts) and not set(a.user_texts) & set(b.user_texts)
    # and both splits live in one content space (the training pool's PCA): same dimension, unit rows
    assert torch.allclose(test.world.content.norm(dim=-1), torch.ones(test.world.pool_items), atol=1e-4)


def test_the_validation_split_is_new_items_and_people_of_the_training_stream_in_its_content_space():
    a, v, t = (synthetic_pool(2048, 512, split) for split in ("train", "validation", "test"))
    for x, y in ((a, v), (v, t)):
        assert not set(x.item_texts) & set(y.item_texts) and not set(x.user_texts) & set(y.user_texts)
    assert {split_of(x) for x in v.item_texts + v.user_texts} == {"train"}  # drawn as the training pool's
    after = synthetic_pool(4096, 1024, "train").item_texts[2048:]  # the stream's next texts, less repeats
    assert set(v.item_texts) <= set(after) | set(synthetic_pool(8192, 1024, "train").item_texts[4096:])
    kw = dict(num_envs=2, scenario="retention", encoder="hash", num_users=8, num_items=16)
    val, train = recsim_marl.make_vec(split="validation", **kw), recsim_marl.make_vec(split="train", **kw)
    val.reset(seed=2000)
    assert len(texts_of(val, 0)[0]) == 16 and not texts_of(val, 0)[0] & set(train.world.catalog.item_texts)
    assert torch.allclose(val.world.content.norm(dim=-1), torch.ones(val.world.pool_items), atol=1e-4)


def test_two_seeds_are_two_worlds_and_a_world_keeps_its_catalogue_across_episodes():
    venv = recsim_marl.make_vec(num_envs=2, scenario="tiny", encoder="hash", initial_budget=2.0, budget_gain=0.0)
    venv.reset(seed=[3, 4])
    s = venv.current
    assert not torch.equal(s.items[0], s.items[1]) and not torch.equal(s.people[0], s.people[1])
    assert len(set(s.items[0].tolist())) == 12  # distinct items
    first = s.items.clone(), s.people.clone()
    for _ in range(30):  # everyone leaves after 2 steps: several auto-resets
        venv.step({"users": torch.zeros(2, 4, dtype=torch.long), "items": torch.zeros(2, 12, dtype=torch.long)})
    assert (venv.current.episode >= 2).all()
    assert torch.equal(venv.current.items, first[0]) and torch.equal(venv.current.people, first[1])
    # catalog_seed: one catalogue (and population) for every world, whatever its seed
    fixed = recsim_marl.make_vec(num_envs=3, scenario="tiny", encoder="hash", catalog_seed=7)
    fixed.reset(seed=100)
    assert (fixed.current.items == fixed.current.items[0]).all()
    assert fixed.catalogue.content.stride(0) == 0  # kept once, expanded over the batch
    other = recsim_marl.make_vec(num_envs=1, scenario="tiny", encoder="hash", catalog_seed=7)
    other.reset(seed=5)
    assert torch.equal(other.current.items[0], fixed.current.items[0])


def test_each_world_of_a_batch_follows_the_reference_of_its_own_seed():
    # the reference draws each world's catalogue with its own numpy code (draw_catalogue) and steps it
    # person by person; three worlds of one batch must each follow the reference of their seed
    venv = recsim_marl.make_vec(num_envs=3, scenario="tiny", num_users=6, num_items=20, encoder="hash",
                                promotion_cost=0.3, return_rate=0.2, initial_budget=4.0)
    c = venv.config
    venv.reset(seed=[21, 5, 900])
    refs = [ReferenceSim.from_world(c, venv.world, seed) for seed in (21, 5, 900)]
    for b, seed in enumerate((21, 5, 900)):
        items, people = draw_catalogue(c, venv.world.pool_items, venv.world.pool_people, seed)
        assert venv.current.items[b].tolist() == items.tolist() and venv.current.people[b].tolist() == people.tolist()
    gen = np.random.default_rng(1)
    for t in range(15):
        ua = gen.integers(c.num_candidates, size=(3, c.num_users))
        ia = gen.integers(c.num_levels, size=(3, c.num_items))
        s = venv.current
        for b, ref in enumerate(refs):
            assert np.array_equal(np.stack([p.candidates for p in ref.people]), s.candidates[b].numpy()), (t, b)
            np.testing.assert_allclose(np.stack([p.interest for p in ref.people]), s.interest[b].numpy(), atol=2e-5)
        _, rew, _, _, _ = venv.step({"users": torch.as_tensor(ua), "items": torch.as_tensor(ia)})
        for b, ref in enumerate(refs):
            ur, ir, _, _ = ref.step(ua[b], ia[b])
            np.testing.assert_allclose(ur, rew["users"][b].numpy(), atol=2e-5)
            np.testing.assert_allclose(ir, rew["items"][b].numpy(), atol=2e-5)


def test_a_world_is_the_same_in_any_batch_and_on_any_batch_position():
    one = recsim_marl.make_vec(num_envs=1, scenario="boredom", num_users=8, num_items=32, encoder="hash")
    many = recsim_marl.make_vec(num_envs=4, scenario="boredom", num_users=8, num_items=32, encoder="hash")
    one.reset(seed=42)
    many.reset(seed=[7, 8, 42, 9])
    assert torch.equal(one.current.items[0], many.current.items[2])
    assert torch.equal(one.catalogue.content[0], many.catalogue.content[2])
    acts1 = {"users": torch.ones(1, 8, dtype=torch.long), "items": torch.zeros(1, 32, dtype=torch.long)}
    acts4 = {"users": torch.ones(4, 8, dtype=torch.long), "items": torch.zeros(4, 32, dtype=torch.long)}
    for _ in range(10):
        o1, r1, *_ = one.step(acts1)
        o4, r4, *_ = many.step(acts4)
        assert torch.equal(o1["users"][0], o4["users"][2]) and torch.equal(r1["users"][0], r4["users"][2])


def test_a_state_from_another_pool_is_refused_and_the_catalogue_follows_set_state():
    a = recsim_marl.make_vec(num_envs=2, scenario="tiny", encoder="hash")
    a.reset(seed=0)
    b = recsim_marl.make_vec(num_envs=2, scenario="tiny", encoder="hash")
    b.reset(seed=50)
    b.set_state(a.get_state())
    assert torch.equal(b.catalogue.content, a.catalogue.content)  # b now holds a's worlds
    small = recsim_marl.make_vec(num_envs=2, scenario="tiny", encoder="hash", catalog_pool=2)
    small.reset(seed=0)
    s = a.get_state()
    s.items[0, 0] = 30  # pool 2 x 12 = 24 items: 30 is not in it
    with pytest.raises(ValueError, match="pool indices outside 0..23"):
        small.set_state(s)


@pytest.mark.parametrize("kw, message", [
    (dict(split="dev"), "split='dev' is invalid: must be one of train, validation, test"),
    (dict(split="validation", catalog="movielens-100k"), "only synthetic pools have a validation split"),
    (dict(split="test", catalog="custom", item_texts=["a", "b", "c", "d"], user_texts=["p"]), "a custom catalogue is one world"),
    (dict(catalog_pool=0), "catalog_pool=0 is invalid"),
    (dict(catalog_pool=2.5), "catalog_pool=2.5 is invalid"),
    (dict(catalog_seed=-1), "catalog_seed=-1 is invalid"),
])
def test_bad_split_options_are_refused_naming_them(kw, message):
    with pytest.raises(ValueError, match=message):
        recsim_marl.make_config("tiny", **kw)


def test_split_reaches_every_door():
    # parallel_env and make_vec take it like any config field
    env = recsim_marl.parallel_env(scenario="tiny", split="test", encoder="hash")
    env.reset(seed=0)
    assert env.config.split == "test"
    item_texts = {env.unwrapped._core.world.catalog.item_texts[j] for j in env.unwrapped._core.current.items[0].tolist()}
    assert {split_of(t) for t in item_texts} == {"test"}


class _Reads:
    """An EnvConfig that records which of its fields are read."""

    def __init__(self, config):
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "read", set())

    def __getattr__(self, name):
        if name in self._config.__dataclass_fields__:
            self.read.add(name)
        value = getattr(self._config, name)
        if name == "replace":  # a derived config is read through the recorder too
            return lambda **kw: _Reads.__call__(self, value(**kw))
        return value

    def __call__(self, config):
        other = _Reads(config)
        object.__setattr__(other, "read", self.read)
        return other


@pytest.mark.parametrize("overrides", [
    dict(scenario="tiny"),
    dict(scenario="tiny", split="test"),
    dict(scenario="movielens-100k"),
    dict(scenario="tiny", catalog="custom", item_texts=[f"item {i} about topic {i % 3}" for i in range(12)],
         user_texts=[f"person {u} likes topic {u % 3}" for u in range(4)]),
])
def test_the_world_cache_key_holds_every_field_the_world_is_built_from(monkeypatch, overrides):
    """A pool is memoised by world_key(config): a field that shapes the pool but is not in the key would
    hand back a stale pool. Build a pool through a recorder and check the key covers every field read."""
    from recsim_marl.core import world as world_mod

    scenario = overrides.pop("scenario")
    config = recsim_marl.make_config(scenario, encoder="hash", **overrides)
    monkeypatch.setattr(world_mod, "_WORLDS", world_mod.LRU(8))  # nothing memoised: the pool is built
    rec = _Reads(config)
    monkeypatch.setattr(world_mod, "world_key", lambda c, d: object())  # the key's own reads do not count
    world_mod.build_world(rec)
    assert rec.read, "the recorder saw the build"
    missing = rec.read - set(world_mod._WORLD_FIELDS) - {"scenario"}
    assert not missing, f"fields that shape the pool but are not in world_key: {sorted(missing)}"

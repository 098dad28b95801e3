"""Issue 10, hardening: batch independence, copies, bounds, caches and small worlds."""

import numpy as np
import pytest
import torch

import recsim_marl
from recsim_marl.core.state import State


def _state_rows(s: State, b: int) -> dict:
    return {f: getattr(s, f)[b] for f in State.__dataclass_fields__}


def test_env_b_of_a_batch_is_bit_identical_to_a_single_env_across_auto_reset():
    # tiny (4 people): torch.sigmoid gave 64 batched worlds other last bits than one world alone
    batch = recsim_marl.make_vec(64, scenario="tiny", encoder="hash")
    c = batch.config
    picks = (0, 5, 37, 63)
    singles = {b: recsim_marl.make_vec(1, scenario="tiny", encoder="hash") for b in picks}
    batch.reset(seed=1000)
    for b, v in singles.items():
        v.reset(seed=1000 + b)
    gen = torch.Generator().manual_seed(1)
    resets = 0
    for t in range(2 * c.max_cycles + 3):  # two episodes and more: auto-reset included
        ua = torch.randint(0, c.num_candidates, (64, c.num_users), generator=gen)
        ia = torch.randint(0, c.num_levels, (64, c.num_items), generator=gen)
        _, rew, _, _, info = batch.step({"users": ua, "items": ia})
        resets += int(info["done"].sum())
        for b, v in singles.items():
            _, r1, _, _, i1 = v.step({"users": ua[b : b + 1], "items": ia[b : b + 1]})
            for g in ("users", "items"):
                assert torch.equal(rew[g][b], r1[g][0]), (t, b, g)
            assert torch.equal(info["done"][b], i1["done"][0]), (t, b)
            rows, one = _state_rows(batch.current, b), _state_rows(v.current, 0)
            for f in rows:
                assert torch.equal(rows[f], one[f]), (t, b, f)
    assert resets >= 64  # every world finished at least once


# --- item 1 and 3: seeds -------------------------------------------------------------------------------

def test_a_refused_seed_leaves_the_parallel_env_as_it_was():
    e = recsim_marl.parallel_env(scenario="tiny")
    e.reset(seed=5)
    with pytest.raises(ValueError, match="seed.*< 2\\*\\*63"):
        e.reset(seed=2**70)
    obs, _ = e.reset()  # continues seed 5 with its next episode, as if the bad call never happened
    ref = recsim_marl.parallel_env(scenario="tiny")
    ref.reset(seed=5)
    ref_obs, _ = ref.reset()
    assert all(np.array_equal(obs[a], ref_obs[a]) for a in ref_obs)


@pytest.mark.parametrize("seed, exc, match", [
    ("a", TypeError, "seed must be an int.*'a'"),
    (1.5, TypeError, "seed must be an int.*1.5"),
    (-1, ValueError, "seed=-1"),
    (2**63 - 1, ValueError, "seed=.*< 2\\*\\*63"),
    ([1.0, 2], TypeError, "seed\\[0\\] must be an int"),
    (torch.tensor(1.0), TypeError, "seed must be an int.*float32"),
])
def test_make_vec_refuses_bad_seeds_naming_the_seed(seed, exc, match):
    v = recsim_marl.make_vec(2, scenario="tiny", encoder="hash")
    v.reset(seed=7)
    before = v.current.clone()
    with pytest.raises(exc, match=match):
        v.reset(seed=seed)
    assert torch.equal(v.current.seed, before.seed) and torch.equal(v.current.interest, before.interest)


@pytest.mark.parametrize("seed", [np.int64(3), torch.tensor(3)])
def test_make_vec_and_parallel_env_accept_the_same_integer_seeds(seed):
    v = recsim_marl.make_vec(2, scenario="tiny", encoder="hash")
    v.reset(seed=seed)
    assert v.current.seed.tolist() == [3, 4]
    if not isinstance(seed, (list, np.ndarray)):
        e = recsim_marl.parallel_env(scenario="tiny", encoder="hash")
        e.reset(seed=seed)
        assert e._seed == 3


# --- item 2: AEC actions are checked when given ----------------------------------------------------------

@pytest.mark.parametrize("bad, exc, match", [
    (99, ValueError, "action 99 for 'user_0' is out of range: allowed 0..3"),
    (None, TypeError, "action for 'user_0' has type NoneType; give an int in 0..3"),
])
def test_aec_bad_action_raises_at_once_and_leaves_the_env_unchanged(bad, exc, match):
    a = recsim_marl.env(scenario="tiny", encoder="hash")
    a.reset(seed=5)
    with pytest.raises(exc, match=match):
        a.step(bad)
    with pytest.raises(exc, match=match):  # a retry gives the same answer, not a stored failure
        a.step(bad)
    assert a.agent_selection == "user_0"
    ref = recsim_marl.env(scenario="tiny", encoder="hash")
    ref.reset(seed=5)
    for env in (a, ref):  # now a whole valid cycle: same result as an env that never saw the bad action
        for _ in env.agents:
            env.step(0)
    assert a.rewards == ref.rewards
    assert all(np.array_equal(a.observe(x), ref.observe(x)) for x in ref.agents)


def test_aec_dead_agents_step_with_none():
    a = recsim_marl.env(scenario="tiny", encoder="hash", initial_budget=1.0)
    a.reset(seed=0)
    dead_steps = 0
    for agent in a.agent_iter(400):
        _, _, term, trunc, _ = a.last()
        if term or trunc:
            dead_steps += 1
            with pytest.raises(ValueError, match="is done.*None"):
                a.step(0)
            a.step(None)
        else:
            a.step(0)
    assert dead_steps > 0


# --- item 4: returned tensors are copies ------------------------------------------------------------------

def test_writing_returned_tensors_does_not_change_the_env():
    v = recsim_marl.make_vec(2, scenario="tiny", encoder="hash")
    o = v.reset(seed=0)
    o["active"]["users"].zero_()
    assert bool(v.current.alive.all())
    acts = {"users": torch.zeros(2, 4, dtype=torch.long), "items": torch.ones(2, 12, dtype=torch.long)}
    o, _, _, _, info = v.step(acts)
    before = v.current.clone()
    o["active"]["users"].zero_()
    info["episode"]["length"].fill_(99)
    info["episode"]["user_return"].fill_(-5.0)
    info["episode"]["item_return"].fill_(-5.0)
    info["levels"].fill_(3)
    info["final_observation"]["hidden"].alive.zero_()
    after = v.current
    for f in ("alive", "t", "user_return", "item_return", "promotion"):
        assert torch.equal(getattr(before, f), getattr(after, f)), f
    _, _, term, _, _ = v.step(acts)
    assert not bool(term["users"].any())  # nobody was made to leave


# --- item 10: negative levels with validate=False ----------------------------------------------------------

def test_negative_levels_cannot_create_funds_without_validation():
    v = recsim_marl.make_vec(1, scenario="tiny", encoder="hash", validate=False)
    v.reset(seed=0)
    funds0 = v.current.funds.clone()
    _, rew, _, _, info = v.step({"users": torch.zeros(1, 4, dtype=torch.long),
                                 "items": torch.full((1, 12), -3, dtype=torch.long)})
    assert int(info["levels"].min()) == 0
    assert float(info["metrics"]["spend"].min()) >= 0.0
    assert bool((v.current.funds <= funds0 + v.current.clicks).all())  # only clicks add funds
    _, _, _, _, info = v.step({"users": torch.zeros(1, 4, dtype=torch.long),
                               "items": torch.full((1, 12), 9, dtype=torch.long)})
    assert int(info["levels"].max()) <= 3


# --- items 5, 15, 16: config ------------------------------------------------------------------------------

@pytest.mark.parametrize("kw, match", [
    (dict(catalog_seed=True), "catalog_seed=True"),
    (dict(catalog="custom", item_texts="abcdefghijkl", user_texts=["a"] * 4), "item_texts='abcdefghijkl'.*not one string"),
    (dict(catalog="custom", item_texts=["a", None] + ["b"] * 10, user_texts=["a"] * 4), "item_texts\\[1\\]=None.*str"),
    (dict(catalog="custom", item_texts=["a"] * 12, user_texts=["a", 3, "b", "c"]), "user_texts\\[1\\]=3"),
])
def test_bad_catalogue_fields_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        recsim_marl.make_config("tiny", **kw)


def test_custom_catalogue_sizes_come_from_the_texts():
    items = [f"item {j} about topic {j % 5}" for j in range(40)]
    people = [f"someone who likes topic {j % 5}" for j in range(6)]
    v = recsim_marl.make_vec(2, catalog="custom", item_texts=items, user_texts=people, encoder="hash")
    assert (v.config.num_items, v.config.num_users) == (40, 6)
    obs = v.reset(seed=0)
    assert obs["users"].shape[:2] == (2, 6) and obs["items"].shape[:2] == (2, 40)
    with pytest.raises(ValueError, match="item_texts has 40 texts but num_items=41"):
        recsim_marl.make_config(catalog="custom", item_texts=items, user_texts=people, num_items=41)


def test_small_worlds_lower_a_default_embed_dim_and_say_so():
    with pytest.warns(UserWarning, match="embed_dim lowered from 32 to 19"):
        e = recsim_marl.parallel_env(num_users=8, num_items=20, encoder="hash")
    assert e.config.embed_dim == 19
    obs, _ = e.reset(seed=0)
    for a in ("user_0", "item_0"):
        assert e.observation_space(a).shape == obs[a].shape
        assert e.observation_space(a).contains(obs[a])
    e.step({a: 0 for a in e.agents})
    with pytest.raises(ValueError, match="embed_dim=32 needs at least 32 texts"):
        recsim_marl.parallel_env(num_users=8, num_items=20, embed_dim=32, encoder="hash")


# --- item 6: worlds that cannot fit fail fast ---------------------------------------------------------------

def test_a_world_too_big_for_memory_fails_fast_naming_its_size():
    import time

    start = time.perf_counter()
    with pytest.raises(MemoryError, match="num_users=50000000.*GB.*available.*Lower num_users/num_items"):
        recsim_marl.make_vec(num_envs=1, scenario="tiny", num_users=50_000_000, encoder="hash")
    assert time.perf_counter() - start < 5.0

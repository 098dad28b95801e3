"""PettingZoo's own test utilities on every registered scenario (the test walks the registry)."""

import importlib
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest
from pettingzoo.test import api_test, max_cycles_test, parallel_api_test, parallel_seed_test, render_test

import recsim_marl
from recsim_marl.core.observation import ITEM_FIELDS, PER_AGENT_STATE, USER_FIELDS, fields_of

# Sizes for the API walk: every scenario keeps its own mechanics and catalogue (a prefix of it) but
# fewer agents, so that PettingZoo's per-agent Python checks stay fast; test_full_size_scenarios_step
# steps the full sizes.
SMALL = {"movielens-100k": dict(num_users=48, num_items=200), "marketplace": dict(num_users=16, num_items=128),
         "default": dict(num_users=16, num_items=64), "boredom": dict(num_users=16, num_items=64),
         "retention": dict(num_users=16, num_items=64)}


def make(scenario, **kw):
    return recsim_marl.parallel_env(scenario=scenario, **{**SMALL.get(scenario, {}), **kw})


@pytest.fixture(params=sorted(recsim_marl.SCENARIOS))
def scenario(request):
    return request.param


def test_parallel_api(scenario):
    parallel_api_test(make(scenario), num_cycles=120)


def test_aec_api(scenario):
    api_test(recsim_marl.env(scenario=scenario, **SMALL.get(scenario, {})), num_cycles=20)


def test_parallel_seed(scenario):
    parallel_seed_test(lambda: make(scenario), num_cycles=30)


def test_render(scenario):
    render_test(lambda render_mode=None: recsim_marl.env(scenario=scenario, render_mode=render_mode, **SMALL.get(scenario, {})))


def test_max_cycles(scenario):
    # max_cycles_test calls mod.parallel_env(max_cycles=...) and mod.env(max_cycles=...)
    kw = {"scenario": scenario, **SMALL.get(scenario, {})}
    max_cycles_test(SimpleNamespace(parallel_env=partial(recsim_marl.parallel_env, **kw), env=partial(recsim_marl.env, **kw)))


def test_max_cycles_on_the_module():
    # the env module itself, as PettingZoo's own envs are tested (recsim_marl.env names the function)
    max_cycles_test(importlib.import_module("recsim_marl.env"))


def test_observations_lie_in_their_spaces(scenario):
    env = make(scenario)
    obs, infos = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(15):
        for a, o in obs.items():
            assert env.observation_space(a).contains(o), a
            assert infos[a]["action_mask"].shape == (env.action_space(a).n,)
        assert env.state_space.contains(env.state())
        actions = {a: int(rng.integers(env.action_space(a).n)) for a in env.agents}
        obs, _, _, _, infos = env.step(actions)


CREATOR_ONLY = [f.name for f in ITEM_FIELDS if f.when is not None]


def test_shapes_are_those_the_module_docstring_states(scenario):
    env = make(scenario)
    c = env.config
    d, k, u, i = c.embed_dim, c.num_candidates, c.num_users, c.num_items
    # per-candidate numbers, per-person numbers, per-item numbers and per-agent state entries (from the table)
    n_cand, n_person = (len(fields_of("users", "affinity", "candidate", config=c)),  # candidate_age: worlds that change
                       sum(f.shape == (1,) for f in USER_FIELDS if f.kind == "person"))
    n_item = len(fields_of("items", "item")) - len(CREATOR_ONLY)  # the item numbers every world has
    m = c.num_drafts  # creators: age, quality, appeal, the trending item and M drafts (content, quality, appeal, cost)
    creators = 3 + d + m * (d + 3) if c.num_drafts else 0
    n_u, n_i = (len(PER_AGENT_STATE[g]) for g in ("users", "items"))
    assert env.observation_space("user_0").shape == (2 * d + k * (d + n_cand) + n_person,)
    assert env.observation_space("item_0").shape == (d + n_item + creators,)
    # and the numbers the docstring writes out are these
    import re

    doc = importlib.import_module("recsim_marl.env").__doc__
    f_c, f_c_changing, f_p, f_i = (int(x) for x in re.search(
        r"F_c = (\d+) candidate features \((\d+) where items change: their age\), F_p = (\d+) person numbers, "
        r"F_i = (\d+) item numbers", doc).groups())
    assert (f_c_changing if c.items_change else f_c, f_p, n_item) == (n_cand, n_person, f_i)
    assert env.state_space.shape == (4 * d + n_u * u + n_i * i + 1,)
    assert (env.action_space("user_0").n, env.action_space("item_0").n) == (k, (m + 1) * c.num_levels)


def test_full_size_scenarios_step():
    for scenario in sorted(SMALL):
        env = recsim_marl.parallel_env(scenario=scenario)
        cfg = recsim_marl.SCENARIOS[scenario]
        obs, _ = env.reset(seed=0)
        assert len(env.agents) == cfg.get("num_users", 64) + cfg.get("num_items", 256)
        obs, rew, term, trunc, info = env.step({a: 0 for a in env.agents})
        assert set(obs) == set(rew) == set(term) == set(trunc) == set(info)
        assert np.isfinite(list(rew.values())).all()


def test_agent_lifecycle_until_everyone_leaves():
    # a tiny budget and no reward for clicks makes people leave one by one; their agents disappear
    env = recsim_marl.parallel_env(scenario="tiny", initial_budget=3.0, budget_gain=0.0, max_cycles=50, trait_spread=0.0)
    env.reset(seed=0)
    steps = 0
    while env.agents:
        before = set(env.agents)
        _, _, term, trunc, _ = env.step({a: 0 for a in env.agents})
        assert set(term) == before
        steps += 1
    # budget 3 shrinks by exactly 1 per step when clicks give nothing back: everyone leaves at step 3
    assert steps == 3
    assert all(term.values()) and not any(trunc.values())


def test_masks_of_the_last_step_belong_to_the_observations_returned():
    # budget 1 and no gain: everybody leaves after the first step; the core has already reset the world,
    # but the masks returned with the final observations are the final ones (only action 0 for people gone)
    env = recsim_marl.parallel_env(scenario="tiny", initial_budget=1.0, budget_gain=0.0, trait_spread=0.0)
    obs, infos = env.reset(seed=0)
    assert infos["user_0"]["action_mask"].all()
    obs, _, term, _, infos = env.step({a: 0 for a in env.agents})
    assert all(term.values()) and not env.agents
    lay = recsim_marl.observation_layout(env.unwrapped.config)["users"]
    for a in (f"user_{k}" for k in range(env.unwrapped.config.num_users)):
        assert obs[a][lay["present"]][0] == 0.0
        assert infos[a]["action_mask"].tolist() == [1] + [0] * (len(infos[a]["action_mask"]) - 1), a

"""A one-group view of the PettingZoo env, for libraries that train one group: the other is scripted."""

import numpy as np
import pytest
import torch
from pettingzoo.test import parallel_api_test

import recsim_marl


class EveryItemAtLevel:
    def __init__(self, level):
        self.level = level

    def act(self, obs, mask):
        return torch.full(obs.shape[:2], self.level, dtype=torch.long)


@pytest.mark.parametrize("learn", ["users", "items"])
def test_parallel_api_of_one_group(learn):
    env = recsim_marl.parallel_env(scenario="tiny", learn=learn)
    parallel_api_test(env, num_cycles=60)
    env.reset(seed=0)
    prefix = "user_" if learn == "users" else "item_"
    assert env.agents and all(a.startswith(prefix) for a in env.possible_agents)


def test_users_only_view_equals_the_full_env_with_those_item_actions():
    view = recsim_marl.parallel_env(scenario="tiny", learn="users", items_policy=EveryItemAtLevel(1))
    full = recsim_marl.parallel_env(scenario="tiny")
    ov, _ = view.reset(seed=4)
    of, _ = full.reset(seed=4)
    rng = np.random.default_rng(0)
    while view.agents:
        acts = {a: int(rng.integers(4)) for a in view.agents}
        ov, rv, tv, _, _ = view.step(acts)
        of, rf, tf, _, _ = full.step({**acts, **{a: 1 for a in full.agents if a.startswith("item_")}})
        assert all(rv[a] == rf[a] and tv[a] == tf[a] and np.array_equal(ov[a], of[a]) for a in rv)
    assert not any(a.startswith("user_") for a in full.agents)


def test_scripted_agents_are_named_as_such():
    env = recsim_marl.parallel_env(scenario="tiny", learn="items")
    env.reset(seed=0)
    with pytest.raises(KeyError, match="scripted"):
        env.step({**{a: 0 for a in env.agents}, "user_0": 1})
    with pytest.raises(ValueError, match="learn="):
        recsim_marl.parallel_env(scenario="tiny", learn="providers")
    with pytest.raises(TypeError, match="items_policy"):
        recsim_marl.parallel_env(scenario="tiny", learn="users", items_policy=3)

"""Views of the PettingZoo env for libraries that cannot take two groups: one group learning (the other
scripted), or both groups with one padded action space (``pad_actions``)."""

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


@pytest.mark.parametrize("k, levels", [(6, 4), (3, 5)])
def test_padded_actions_give_every_agent_one_space_and_padded_masks(k, levels):
    env = recsim_marl.parallel_env(scenario="tiny", num_candidates=k, num_levels=levels, pad_actions=True)
    parallel_api_test(env, num_cycles=30)
    width = max(k, levels)
    _, infos = env.reset(seed=1)
    assert {env.action_space(a).n for a in env.possible_agents} == {width}
    for a in env.agents:
        own = k if a.startswith("user_") else levels
        mask = infos[a]["action_mask"]
        assert mask.shape == (width,) and not mask[own:].any() and mask[:own].any()


@pytest.mark.parametrize("k, levels", [(6, 4), (3, 5)])
def test_a_padded_action_means_the_groups_last_action(k, levels):
    padded = recsim_marl.parallel_env(scenario="tiny", num_candidates=k, num_levels=levels, pad_actions=True)
    plain = recsim_marl.parallel_env(scenario="tiny", num_candidates=k, num_levels=levels)
    padded.reset(seed=3)
    plain.reset(seed=3)
    width = max(k, levels)
    while plain.agents:
        last = {a: (k if a.startswith("user_") else levels) - 1 for a in plain.agents}
        op, rp, tp, _, _ = padded.step({a: width - 1 for a in padded.agents})
        oq, rq, tq, _, _ = plain.step(last)
        assert rp == rq and tp == tq and all(np.array_equal(op[a], oq[a]) for a in op)
    with pytest.raises(ValueError, match="out of range"):
        padded.reset(seed=3)
        padded.step({a: width for a in padded.agents})
    with pytest.raises(TypeError, match="pad_actions"):
        recsim_marl.parallel_env(scenario="tiny", pad_actions="yes")


def test_a_scripted_policy_must_script_a_group_that_is_not_exposed():
    # issue 18: parallel_env(items_policy=P()) with the default learn="both" ignored P without a word
    from agents.baselines import FixedLevelPolicy

    with pytest.raises(ValueError, match="items_policy was given but learn='both'.*learn='users'"):
        recsim_marl.parallel_env(scenario="tiny", encoder="hash", items_policy=FixedLevelPolicy(3))
    with pytest.raises(ValueError, match="users_policy was given but learn='users'"):
        recsim_marl.parallel_env(scenario="tiny", encoder="hash", learn="users", users_policy=FixedLevelPolicy(0))


@pytest.mark.parametrize("dtype", [torch.bool, torch.float32])
def test_a_scripted_policy_returning_flags_or_scores_is_refused(dtype):
    # a bool tensor used to be read as level 1 for every True, a float one as levels
    class Flags:
        def act(self, obs, mask):
            return torch.ones(obs.shape[:2], dtype=dtype)

    env = recsim_marl.parallel_env(scenario="tiny", encoder="hash", learn="users", items_policy=Flags())
    env.reset(seed=0)
    with pytest.raises(TypeError, match=f"items_policy.act must return an integer .* got {dtype}"):
        env.step({a: 0 for a in env.agents})

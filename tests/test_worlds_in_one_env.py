"""``parallel_env(num_worlds=B)``: B worlds stepped together by the core behind one PettingZoo (and RLlib)
env, agents named per world; world w is exactly the one-world env seeded seed + w, and a world whose
episode ends early stays ended while the others play on."""

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test

import recsim_marl

WORLDS = dict(scenario="tiny", num_worlds=3)


def test_pettingzoo_api_tests_pass_with_several_worlds():
    parallel_api_test(recsim_marl.parallel_env(**WORLDS), num_cycles=60)
    api_test(recsim_marl.env(**WORLDS), num_cycles=10)


def test_agents_are_named_per_world_and_world_w_is_the_one_world_env_seeded_seed_plus_w():
    many = recsim_marl.parallel_env(**WORLDS)
    u, i = many.unwrapped.config.num_users, many.unwrapped.config.num_items
    assert many.possible_agents[:u + 1] == [f"user_{k}_w0" for k in range(u)] + ["user_0_w1"]
    assert len(many.possible_agents) == 3 * (u + i)
    assert many.state_space.shape[0] == 3 * recsim_marl.parallel_env(scenario="tiny").state_space.shape[0]
    ones = [recsim_marl.parallel_env(scenario="tiny") for _ in range(3)]
    rng = np.random.default_rng(0)
    obs_m, _ = many.reset(seed=7)
    obs_1 = [e.reset(seed=7 + w)[0] for w, e in enumerate(ones)]
    assert all(np.array_equal(obs_m[f"{a}_w{w}"], o[a]) for w, o in enumerate(obs_1) for a in o)
    for _ in range(many.unwrapped.config.max_cycles):
        acts = {a: int(rng.integers(many.action_space(a).n)) for a in many.agents}
        obs_m, rew_m, term_m, trunc_m, _ = many.step(acts)
        for w, e in enumerate(ones):
            out = e.step({a: acts[f"{a}_w{w}"] for a in e.agents})
            for a in out[0]:
                assert np.array_equal(obs_m[f"{a}_w{w}"], out[0][a]), (a, w)
                assert rew_m[f"{a}_w{w}"] == out[1][a] and term_m[f"{a}_w{w}"] == out[2][a], (a, w)
                assert trunc_m[f"{a}_w{w}"] == out[3][a]
        if not many.agents:
            break
    assert not many.agents and all(not e.agents for e in ones)


def test_a_world_that_ends_early_stays_ended_while_the_others_play_on():
    # budget 2 and no gain: everybody leaves at step 2, in every world; world by world the same
    env = recsim_marl.parallel_env(scenario="tiny", num_worlds=2, initial_budget=2.0, budget_gain=0.0,
                                   trait_spread=0.0)
    env.reset(seed=0)
    _, _, term, _, _ = env.step({a: 0 for a in env.agents})
    assert not any(term.values())
    _, _, term, _, _ = env.step({a: 0 for a in env.agents})
    assert all(term.values()) and not env.agents
    # budgets that vary by person and world: the worlds end at different steps
    env = recsim_marl.parallel_env(scenario="tiny", num_worlds=4, initial_budget=3.0, budget_gain=1.0)
    env.reset(seed=3)
    rng = np.random.default_rng(1)
    ended_at, t, frozen = {}, 0, {}
    s = env.state().reshape(4, -1)
    while env.agents:
        live_before = {a.rsplit("_w", 1)[1] for a in env.agents}
        env.step({a: int(rng.integers(env.action_space(a).n)) for a in env.agents})
        t += 1
        s = env.state().reshape(4, -1)
        live_after = {a.rsplit("_w", 1)[1] for a in env.agents}
        for w in live_before - live_after:
            ended_at[w], frozen[w] = t, s[int(w)].copy()
        for w, row in frozen.items():
            assert np.array_equal(s[int(w)], row), f"world {w}'s state moved after it ended"
    assert len(ended_at) == 4 and len(set(ended_at.values())) > 1, ended_at


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "3"])
def test_a_bad_number_of_worlds_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match="num_worlds=.* is invalid: it must be an int >= 1"):
        recsim_marl.parallel_env(scenario="tiny", num_worlds=bad)


def test_rllib_takes_several_worlds_in_one_env():
    pytest.importorskip("ray.rllib")
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    from recsim_marl.integrations.rllib import RecSimMultiAgentEnv, policy_mapping_fn

    env = RecSimMultiAgentEnv({"scenario": "tiny", "num_worlds": 2})
    check_multiagent_environments(env)
    assert {policy_mapping_fn(a) for a in env.possible_agents} == {"users", "items"}
    assert len(env.possible_agents) == 2 * (env.config.num_users + env.config.num_items)

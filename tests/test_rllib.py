"""The RLlib door: ``RecSimMultiAgentEnv`` as RLlib's own checker and stock PPO (default model, no
masking) see it, with both groups, people who leave and episodes that end either way."""

import numpy as np
import pytest

from recsim_marl.integrations.rllib import RecSimMultiAgentEnv, group_of, policy_mapping_fn


def run_episode(env, seed, pick):
    obs, infos = env.reset(seed=seed)
    steps = []
    while env.agents:
        acts = {a: pick(a, env) for a in obs}
        obs, rew, term, trunc, infos = env.step(acts)
        steps.append((obs, rew, term, trunc))
    return steps


def test_rllib_checker_accepts_the_env_and_groups_map_to_modules():
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    env = RecSimMultiAgentEnv({"scenario": "tiny"})
    check_multiagent_environments(env)
    assert {policy_mapping_fn(a) for a in env.possible_agents} == {"users", "items"}
    assert group_of("user_3") == "users" and group_of("item_0") == "items"
    with pytest.raises(KeyError, match="unknown agent 'bot_1'"):
        group_of("bot_1")


def test_episode_end_flags_say_how_it_ended_and_any_in_range_action_is_taken():
    rng = np.random.default_rng(0)

    def anything(agent, env):  # what plain PPO may send: any index of the space, masked or not
        return int(rng.integers(env.action_spaces[agent].n))

    env = RecSimMultiAgentEnv({"scenario": "tiny"})
    steps = run_episode(env, 0, anything)
    assert len(steps) == env.config.max_cycles
    _, _, term, trunc = steps[-1]
    assert trunc["__all__"] and not term["__all__"]
    assert all(not t["__all__"] for _, _, t, _ in steps[:-1])

    # budget 1 and no gain: everybody leaves after the first step, and the episode is terminated
    gone = RecSimMultiAgentEnv({"scenario": "tiny", "initial_budget": 1.0, "budget_gain": 0.0, "trait_spread": 0.0})
    steps = run_episode(gone, 0, anything)
    _, _, term, trunc = steps[-1]
    assert len(steps) == 1 and term["__all__"] and not trunc["__all__"]
    assert all(term[a] for a in gone.possible_agents)


def test_unknown_config_key_names_it():
    with pytest.raises((TypeError, ValueError), match="bogus"):
        RecSimMultiAgentEnv({"scenario": "tiny", "bogus": 1})


def test_stock_ppo_trains_both_modules_as_the_readme_shows():
    # the README's RLlib block, run as copied; then what it trained is checked
    import ray
    from test_readme import readme_block

    ns = {"__name__": "__main__"}
    try:
        exec(compile(readme_block("tests/test_rllib.py"), "<README RLlib block>", "exec"), ns)
    finally:
        ray.shutdown()
    result = ns["result"]
    returns = result["env_runners"]["module_episode_returns_mean"]
    assert set(returns) >= {"users", "items"} and all(np.isfinite(v) for v in returns.values())
    for g in ("users", "items"):  # both modules took gradient steps with finite losses
        learned = result["learners"][g]
        assert np.isfinite(learned["total_loss"]) and learned["num_module_steps_trained"] > 0, (g, learned)

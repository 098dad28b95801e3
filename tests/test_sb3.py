"""Stable-Baselines3 trains user agents through the group adapter, with seeds that reach the env."""

import numpy as np
from stable_baselines3 import PPO

import recsim_marl
from agents.baselines import FixedLevelPolicy, RandomPolicy
from agents.evaluation import evaluate
from agents.sb3 import GroupVecEnv, SB3Policy


def test_adapter_shapes_and_seeding():
    a, b = GroupVecEnv("tiny", num_worlds=3), GroupVecEnv("tiny", num_worlds=3)
    assert a.num_envs == 3 * 4
    a.seed(7)
    b.seed(7)
    oa, ob = a.reset(), b.reset()
    assert oa.shape == (12, a.observation_space.shape[0]) and np.array_equal(oa, ob)
    b.seed(8)
    assert not np.array_equal(oa, b.reset())  # the seed reaches the simulator
    a.seed(7)
    assert np.array_equal(a.reset(), oa)
    acts = np.zeros(12, dtype=np.int64)
    for _ in range(30):  # crosses the end of the 25-step episode
        obs, rew, done, infos = a.step(acts)
    assert obs.shape == oa.shape and rew.shape == (12,) and done.dtype == bool
    assert a.action_masks().shape == (12, 4)


def test_sb3_ppo_improves_user_agents_over_random():
    env = GroupVecEnv("tiny", num_worlds=16)
    model = PPO("MlpPolicy", env, seed=0, n_steps=32, batch_size=256, learning_rate=1e-3, gamma=0.95, verbose=0)
    c = recsim_marl.make_config("tiny")
    items = FixedLevelPolicy(0)
    model.learn(20_000)
    learned = evaluate(c, {"users": SB3Policy(model), "items": items}, episodes=8, seed=10_000)["user_return"][0]
    rnd = evaluate(c, {"users": RandomPolicy(4), "items": items}, episodes=8, seed=10_000)["user_return"][0]
    assert learned > 1.5 * rnd, (learned, rnd)


def test_maskable_ppo_trains_and_respects_the_masks():
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.utils import get_action_masks

    env = GroupVecEnv("boredom", num_worlds=2, num_users=8, num_items=40, encoder="hash")
    model = MaskablePPO("MlpPolicy", env, seed=0, n_steps=16, batch_size=64, verbose=0)
    model.learn(512)
    env.seed(3)
    obs = env.reset()
    saw_gone = False
    for _ in range(40):
        masks = get_action_masks(env)
        assert masks.shape == (16, env.action_space.n)
        actions, _ = model.predict(obs, action_masks=masks, deterministic=False)
        assert masks[np.arange(16), actions].all()  # never an action the mask forbids
        saw_gone |= bool((masks.sum(-1) == 1).any())  # people who left: only action 0 allowed
        obs, _, _, _ = env.step(actions)
    assert saw_gone

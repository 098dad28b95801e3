"""Stable-Baselines3 PPO trains the user agents (one shared policy); items do not promote.

    python examples/sb3_ppo_users.py
"""

from stable_baselines3 import PPO

import recsim_marl
from agents.baselines import FixedLevelPolicy, GreedyPolicy
from agents.evaluation import evaluate
from agents.sb3 import GroupVecEnv, SB3Policy
from recsim_marl.protocol import EVAL_SEED

env = GroupVecEnv("default", group="users", other_policy=FixedLevelPolicy(0), num_worlds=8)
model = PPO("MlpPolicy", env, seed=0, n_steps=64, batch_size=1024, gamma=0.95, verbose=1)
model.learn(total_timesteps=300_000)  # agent-steps: 8 worlds x 64 people per env step

config = recsim_marl.make_config("default")
for name, users in (("SB3 PPO", SB3Policy(model)), ("greedy", GreedyPolicy(config))):
    print(name, evaluate(config, {"users": users, "items": FixedLevelPolicy(0)}, episodes=5, seed=EVAL_SEED)["user_return"])

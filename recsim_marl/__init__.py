"""recsim_marl: a vectorized, text-grounded, two-sided recommender world for multi-agent RL.

>>> import recsim_marl
>>> env = recsim_marl.parallel_env(scenario="tiny")           # PettingZoo ParallelEnv
>>> venv = recsim_marl.make_vec(num_envs=8, scenario="tiny")   # batched torch core
"""

from recsim_marl.config import SCENARIOS, EnvConfig, make_config
from recsim_marl.core import VecEnv, make_vec, observation_layout
from recsim_marl.embeddings import ModelNotAvailableError
from recsim_marl.env import RecSimParallelEnv, env, parallel_env, raw_env
from recsim_marl.models.user import USER_MODELS, UserModel

__version__ = "0.1.0"

__all__ = [
    "SCENARIOS",
    "USER_MODELS",
    "EnvConfig",
    "ModelNotAvailableError",
    "RecSimParallelEnv",
    "UserModel",
    "VecEnv",
    "env",
    "make_config",
    "make_vec",
    "observation_layout",
    "parallel_env",
    "raw_env",
]

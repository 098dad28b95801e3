"""recsim_marl: a vectorized, text-grounded, two-sided recommender world for multi-agent RL.

>>> import recsim_marl
>>> env = recsim_marl.parallel_env(scenario="tiny")           # PettingZoo ParallelEnv
>>> venv = recsim_marl.make_vec(num_envs=8, scenario="tiny")   # batched torch core
"""

from importlib import metadata as _metadata

from recsim_marl.config import SCENARIOS, EnvConfig, make_config
from recsim_marl.core import VecEnv, make_vec, observation_layout
from recsim_marl.embeddings import ModelNotAvailableError
from recsim_marl.env import RecSimParallelEnv, env, parallel_env, raw_env
from recsim_marl.models.user import USER_MODELS, UserModel

try:  # the installed distribution's version (pyproject.toml is its one source)
    __version__ = _metadata.version("recsim-marl")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"


def clear_caches() -> None:
    """Empty the process-wide caches: built worlds, hash encoders, weight-file checksums, in-memory
    embeddings and retrieval noise tables. Disk caches are kept. Each cache is also bounded (a few
    entries, least recently used dropped first); call this to free memory between experiments."""
    from recsim_marl.core import world
    from recsim_marl.embeddings import cache, encoder
    from recsim_marl.models import retrieval

    world._WORLDS.clear()
    encoder._LOADED.clear()
    encoder._SHA_MEMO.clear()
    cache.clear_memory()
    retrieval._gumbel_quantiles.cache_clear()
    retrieval._device_table.cache_clear()


__all__ = [
    "SCENARIOS",
    "USER_MODELS",
    "EnvConfig",
    "ModelNotAvailableError",
    "RecSimParallelEnv",
    "UserModel",
    "VecEnv",
    "__version__",
    "clear_caches",
    "env",
    "make_config",
    "make_vec",
    "observation_layout",
    "parallel_env",
    "raw_env",
]

"""``RecSimTask``: every scenario as a BenchMARL task, so BenchMARL's algorithms (MAPPO, IPPO, IQL,
QMIX, MASAC, ...) run on the batched core with no glue. The env is
:class:`recsim_marl.integrations.torchrl.RecSimEnv`: BenchMARL's ``num_envs`` worlds are stepped
together, both groups (``users``, ``items``) with their action masks and the ``state`` for critics.

    from benchmarl.algorithms import MappoConfig
    from benchmarl.experiment import Experiment, ExperimentConfig
    from benchmarl.models.mlp import MlpConfig
    from recsim_marl.integrations.benchmarl import RecSimTask

    task = RecSimTask.TINY.get_task()                      # or get_task({"num_users": 8}) for overrides
    Experiment(task=task, algorithm_config=MappoConfig.get_from_yaml(), model_config=MlpConfig.get_from_yaml(),
               critic_model_config=MlpConfig.get_from_yaml(), seed=0, config=ExperimentConfig.get_from_yaml()).run()

A task's config holds config overrides of its scenario (any ``EnvConfig`` field).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import recsim_marl
from recsim_marl.core.vec_env import GROUPS

try:
    from benchmarl.environments.common import Task, TaskClass
    from torchrl.data import Composite
    from torchrl.envs import EnvBase
except ImportError as exc:  # pragma: no cover - exercised only without benchmarl
    raise ImportError(
        "recsim_marl.integrations.benchmarl needs BenchMARL: `pip install benchmarl` (install it together with "
        "the torch you already have, e.g. `pip install benchmarl torch==<your version>`, so pip keeps it)"
    ) from exc

from recsim_marl.integrations.torchrl import RecSimEnv


def scenario_of(task_name: str) -> str:
    """``MOVIELENS_100K`` -> ``movielens-100k``: the scenario a task member names."""
    return task_name.lower().replace("_", "-")


class RecSimTaskClass(TaskClass):
    """A recsim_marl scenario as a BenchMARL task (discrete actions, two groups, masks, a state)."""

    def get_env_fun(self, num_envs: int, continuous_actions: bool, seed: int | None, device) -> Callable[[], EnvBase]:
        if continuous_actions:
            raise ValueError("recsim_marl tasks have discrete actions (pick a candidate, a promotion level); "
                             "use an algorithm config with prefer_continuous_actions=False")
        config = copy.deepcopy(self.config)
        c = recsim_marl.make_config(scenario_of(self.name), **config)  # unknown keys fail here, by name
        if c.slate_size > 1:
            raise ValueError(f"slate_size={c.slate_size}: BenchMARL's models give each agent one categorical "
                             "action, and a slate is S of them (Categorical shape (S,)); train slates through "
                             "TorchRL's RecSimEnv, PettingZoo, SB3, RLlib or the project's learners "
                             "(recsim-marl train mappo|iql), or use slate_size=1 here")
        return lambda: RecSimEnv(scenario=scenario_of(self.name), num_envs=num_envs, device=device,
                                 seed=0 if seed is None else seed, **config)

    def supports_continuous_actions(self) -> bool:
        return False

    def supports_discrete_actions(self) -> bool:
        return True

    def has_render(self, env: EnvBase) -> bool:
        return False

    def max_steps(self, env: EnvBase) -> int:
        return env.config.max_cycles

    def group_map(self, env: EnvBase) -> dict[str, list[str]]:
        n = env.venv.num_agents
        return {g: [f"{g[:-1]}_{i}" for i in range(n[g])] for g in GROUPS}

    def _group_entries(self, env: EnvBase, keep: str) -> Composite:
        spec = env.full_observation_spec_unbatched.clone()
        for g in GROUPS:
            for key in list(spec[g].keys()):
                if key != keep:
                    del spec[(g, key)]
        del spec["state"]
        return spec

    def observation_spec(self, env: EnvBase) -> Composite:
        return self._group_entries(env, "observation")

    def action_mask_spec(self, env: EnvBase) -> Composite:
        return self._group_entries(env, "action_mask")

    def info_spec(self, env: EnvBase) -> None:
        return None

    def state_spec(self, env: EnvBase) -> Composite:
        return Composite({"state": env.full_observation_spec_unbatched["state"].clone()})

    def action_spec(self, env: EnvBase) -> Composite:
        return env.full_action_spec_unbatched

    @staticmethod
    def env_name() -> str:
        return "recsim_marl"


class RecSimTask(Task):
    """The registered scenarios as BenchMARL tasks (``RecSimTask.TINY.get_task()``)."""

    DEFAULT = None
    TINY = None
    BOREDOM = None
    CREATORS = None
    MARKETPLACE = None
    MOVIELENS_100K = None
    RETENTION = None

    @staticmethod
    def associated_class():
        return RecSimTaskClass

    def get_task(self, config: dict | None = None) -> TaskClass:
        """The task with ``config`` (scenario overrides; none by default: there is no YAML to read)."""
        return RecSimTaskClass(name=self.name, config=dict(config or {}))

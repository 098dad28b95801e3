"""BenchMARL's own command line on recsim_marl's scenarios.

    python -m recsim_marl.integrations.benchmarl_run algorithm=mappo task=recsim_marl/boredom
    python -m recsim_marl.integrations.benchmarl_run algorithm=iql task=recsim_marl/tiny +task.num_users=8 \\
        experiment.max_n_frames=20000 experiment.loggers=[csv]

This is ``python benchmarl/run.py`` (BenchMARL's Hydra entry point, with its experiment, algorithm and
model configs and overrides) after two registrations: every scenario of ``recsim_marl.SCENARIOS`` is a
BenchMARL task ``recsim_marl/<scenario>`` (:class:`recsim_marl.integrations.benchmarl.RecSimTask`), and
its task config (scenario overrides, empty by default; add keys with ``+task.<field>=<value>``) is a node
of Hydra's config store, made from the registry, so there is no YAML file to keep in step with it.
"""

from __future__ import annotations

import sys


def register() -> list[str]:
    """Put every scenario in BenchMARL's task registry and Hydra's config store; return the task names."""
    from benchmarl.environments import task_config_registry
    from hydra.core.config_store import ConfigStore

    from recsim_marl.integrations.benchmarl import RecSimTask, scenario_of

    names = []
    for member in RecSimTask:
        name = f"{RecSimTask.env_name()}/{scenario_of(member.name)}"
        task_config_registry[name] = member
        ConfigStore.instance().store(group=f"task/{RecSimTask.env_name()}", name=scenario_of(member.name), node={})
        names.append(name)
    return names


def main() -> None:
    register()
    from benchmarl.run import hydra_experiment

    hydra_experiment()


if __name__ == "__main__":
    sys.exit(main())

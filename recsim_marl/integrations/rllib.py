"""``RecSimMultiAgentEnv``: the platform as an RLlib ``MultiAgentEnv`` (both groups, one module each).

    from ray.rllib.algorithms.ppo import PPOConfig
    from recsim_marl.integrations.rllib import RecSimMultiAgentEnv, policy_mapping_fn

    config = (PPOConfig()
              .environment(RecSimMultiAgentEnv, env_config={"scenario": "tiny"})
              .multi_agent(policies={"users", "items"}, policy_mapping_fn=policy_mapping_fn))
    algo = config.build_algo()
    algo.train()

``env_config`` holds ``scenario`` and any field of ``recsim_marl.EnvConfig`` (an unknown key is an error
naming it), and also ``learn`` / ``users_policy`` / ``items_policy`` for a one-group view (the other
group scripted inside the env, as in ``recsim_marl.parallel_env``); then give RLlib only that group's
module: ``policies={"users"}`` for ``learn="users"``.

What plain PPO (no masking model) can send, and what it means:

- every agent in ``env.agents`` gets an observation each step (a float32 ``Box`` with finite bounds)
  and must get an action; ``infos[agent]["action_mask"]`` says which actions count;
- a person who is away between visits stays in the episode (``obs`` field ``present`` is 0): any
  candidate index is accepted and ignored, nothing is shown to them and their reward is 0;
- an item level the funds cannot cover is clamped to the highest affordable level (the spend is what
  was paid, never more than the funds);
- a person who leaves for good is ``terminated`` with their last observation and gets no more;
  everybody still there at the horizon is ``truncated``. ``terminateds["__all__"]`` is set when the
  episode ends with everybody gone, ``truncateds["__all__"]`` when it ends at ``max_cycles``;
- actions for agents that are already done are ignored (a bad value is still an error).

Seeding: ``reset(seed=s)`` starts episode 0 of seed ``s``; ``reset()`` the next episode of the same
seed. With no seed at all each env runner draws one from the OS, so give RLlib a seed
(``.debugging(seed=...)``) for a reproducible run.
"""

from __future__ import annotations

import recsim_marl

try:
    from ray.rllib.env.multi_agent_env import MultiAgentEnv
except ImportError as exc:  # pragma: no cover - exercised only without ray
    raise ImportError(
        "recsim_marl.integrations.rllib needs RLlib: pip install 'recsim-marl[rllib]' "
        "(or pip install 'ray[rllib]')"
    ) from exc

GROUP_OF_PREFIX = {"user": "users", "item": "items"}


def group_of(agent_id: str) -> str:
    """``"users"`` or ``"items"``: the agent group, which is also the RLModule id."""
    prefix = agent_id.split("_", 1)[0]
    if prefix not in GROUP_OF_PREFIX:
        raise KeyError(f"unknown agent {agent_id!r}: agents are user_<k> and item_<k>")
    return GROUP_OF_PREFIX[prefix]


def policy_mapping_fn(agent_id, episode=None, **kwargs) -> str:
    """RLlib's agent -> module mapping: one module per group (``"users"``, ``"items"``)."""
    return group_of(agent_id)


class RecSimMultiAgentEnv(MultiAgentEnv):
    """One world of the platform for RLlib: ``RecSimMultiAgentEnv({"scenario": "tiny", ...})``."""

    def __init__(self, config: dict | None = None):
        super().__init__()
        options = dict(config or {})  # RLlib passes an EnvContext, a dict with runner attributes
        scenario = options.pop("scenario", "default")
        self.env = recsim_marl.parallel_env(scenario=scenario, **options)
        self.config = self.env.unwrapped.config
        self.possible_agents = list(self.env.possible_agents)
        self.agents = []
        self.observation_spaces = {a: self.env.observation_space(a) for a in self.possible_agents}
        self.action_spaces = {a: self.env.action_space(a) for a in self.possible_agents}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self.agents = list(self.env.agents)
        return obs, infos

    def step(self, action_dict: dict):
        obs, rewards, terminateds, truncateds, infos = self.env.step(action_dict)
        self.agents = list(self.env.agents)
        over = not self.agents
        cut = any(truncateds.values())
        terminateds["__all__"] = over and not cut
        truncateds["__all__"] = over and cut
        return obs, rewards, terminateds, truncateds, infos

    def render(self):
        return self.env.render()

    def close(self) -> None:
        self.env.close()

"""Stable-Baselines3 adapter: one agent group as a parameter-shared SB3 ``VecEnv``.

Every agent of the group in every world is one SB3 "env" (``num_envs = worlds x agents``), so one SB3
policy is shared by the whole group; the other group is driven by a given :class:`agents.policy.Policy`.
Seeding reaches the simulator: ``PPO(..., seed=s)`` calls ``seed(s)`` and the next ``reset`` seeds
world ``b`` with ``s + b * agents`` (SuperSuit's SB3 wrapper drops seeds; this one does not).

A person who leaves reports ``done=True`` once (with ``terminal_observation``); until their world
resets, their row keeps a constant observation and reward 0, and its action mask allows only action 0.
sb3-contrib's ``MaskablePPO`` reads the masks through ``env_method("action_masks")``. Truncation sets
``info["TimeLimit.truncated"]`` so SB3 bootstraps from the terminal observation.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

import recsim_marl
from agents.baselines import FixedLevelPolicy, GreedyPolicy
from agents.policy import checked_act


class GroupVecEnv(VecEnv):
    """``group`` ('users' or 'items') of ``num_worlds`` worlds of ``scenario`` as an SB3 VecEnv."""

    def __init__(self, scenario: str = "default", group: str = "users", other_policy=None, num_worlds: int = 8,
                 device: str = "cpu", **config):
        if group not in ("users", "items"):
            raise ValueError(f"group={group!r} is invalid: use 'users' or 'items'")
        self.core = recsim_marl.make_vec(num_envs=num_worlds, device=device, scenario=scenario, validate=False, **config)
        c = self.core.config
        self.group, self.other = group, ("items" if group == "users" else "users")
        self.other_policy = other_policy or (FixedLevelPolicy(0) if group == "users" else GreedyPolicy(c))
        self.num_worlds, self.num_agents = num_worlds, self.core.num_agents[group]
        lay = self.core.layouts[group]
        self.render_mode = None
        self._base_seed, self._episode = 0, 0
        self._obs = None
        self._actions = None
        n = self.core.num_actions[group]
        self.slate = c.slate_size if group == "users" else 1  # with slates: S candidate indices, top first
        super().__init__(num_worlds * self.num_agents, spaces.Box(lay.low, lay.high, dtype=np.float32),
                         spaces.Discrete(n) if self.slate == 1 else spaces.MultiDiscrete([n] * self.slate))

    # --- SB3 VecEnv API ------------------------------------------------------------------------------
    def reset(self):
        if self._seeds[0] is not None:  # set by VecEnv.seed(): seeds[i] = seed + i
            self._base_seed, self._episode = int(self._seeds[0]), 0
        else:
            self._episode += 1 if self._obs is not None else 0
        seeds = [self._base_seed + b * self.num_agents for b in range(self.num_worlds)]
        self._obs = self.core.reset(seed=seeds, episode=self._episode)
        self._reset_seeds()
        return self._flat(self._obs[self.group])

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        a = torch.as_tensor(np.asarray(self._actions), dtype=torch.long, device=self.core.device)
        a = a.reshape(self.num_worlds, self.num_agents, *((self.slate,) if self.slate > 1 else ()))
        n = self.core.num_actions[self.group]
        if bool(((a < 0) | (a >= n)).any()):
            raise ValueError(f"SB3 actions for {self.group} must lie in 0..{n - 1}")
        o = self._obs
        other = checked_act(self.other_policy, self.other, o[self.other], o["action_mask"][self.other],
                            self.core.num_actions[self.other], self.core.slate_size(self.other))
        was_active = o["alive"][self.group]  # in the episode (a person away between visits still is)
        obs, rew, term, trunc, info = self.core.step({self.group: a, self.other: other})
        self._obs = obs
        g = self.group
        ended = (term[g] | trunc[g]) & was_active
        done = (ended | info["done"].unsqueeze(-1)).reshape(-1).cpu().numpy()
        trunc_flat = (trunc[g] & was_active).reshape(-1).cpu().numpy()
        final = self._flat(info["final_observation"][g])
        now = self._flat(obs[g])
        infos = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(done):
            infos[i]["terminal_observation"] = final[i]
            infos[i]["TimeLimit.truncated"] = bool(trunc_flat[i])
        return now, self._flat(rew[g] * was_active.to(rew[g].dtype)), done, infos

    def action_masks(self) -> np.ndarray:
        """``[num_envs, A]`` bool, for sb3-contrib's MaskablePPO (with slates ``[num_envs, S K]``: the
        candidates' mask once per slot, MaskablePPO's layout for a MultiDiscrete space)."""
        m = self._flat(self._obs["action_mask"][self.group])
        return m if self.slate == 1 else np.tile(m, (1, self.slate))

    def close(self) -> None:
        pass

    def get_attr(self, attr_name, indices=None):
        return [getattr(self, attr_name)] * len(list(self._get_indices(indices)))

    def set_attr(self, attr_name, value, indices=None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name, *args, indices=None, **kwargs):
        """Per-env results of a method: only ``action_masks`` (what sb3-contrib's MaskablePPO asks for)."""
        if method_name != "action_masks":
            raise NotImplementedError(
                f"GroupVecEnv has one per-env method, 'action_masks' (for MaskablePPO); asked for {method_name!r}")
        masks = self.action_masks()
        return [masks[i] for i in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False] * len(list(self._get_indices(indices)))

    def _flat(self, x: torch.Tensor) -> np.ndarray:
        return x.reshape(self.num_envs, *x.shape[2:]).cpu().numpy()


class SB3Policy:
    """A trained SB3 model as a :class:`agents.policy.Policy` (deterministic ``predict``)."""

    def __init__(self, model):
        self.model = model

    def act(self, obs, mask):
        b, n, o = obs.shape
        actions, _ = self.model.predict(obs.reshape(b * n, o).cpu().numpy(), deterministic=True)
        return torch.as_tensor(actions, dtype=torch.long, device=obs.device).reshape(b, n, *actions.shape[1:])

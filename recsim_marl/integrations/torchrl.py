"""``RecSimEnv``: the batched core as a TorchRL ``EnvBase``, the way torchrl's ``VmasEnv`` wraps VMAS.

Batch size ``[num_envs]``; the two groups are nested keys, every tensor on the env's device::

    ("users", "observation")  [B, U, O_u]   ("items", "observation")  [B, I, O_i]
    ("users", "action_mask")  [B, U, K]     ("items", "action_mask")  [B, I, L]   (bool)
    ("users", "action")       [B, U]        ("items", "action")       [B, I]      (index)
                              [B, U, S] with slates (slate_size S > 1: candidate indices, the top first;
                              a repeat leaves its slot empty)
    ("users", "reward")       [B, U, 1]     ("items", "reward")       [B, I, 1]
    ("users", "done" / "terminated" / "truncated")  [B, U, 1], the same for items
    "state" [B, S] (the compact critic input), "done" / "terminated" / "truncated" [B, 1]

A person who leaves is ``terminated`` (and ``done``) from that step to the end of the episode: the
trajectory of that agent has ended, and the actions it is given afterwards are ignored. People still
there at the horizon are ``truncated``. Items are ``terminated`` when everybody has left and
``truncated`` at the horizon. The env-level flags say the episode is over.

Resets follow TorchRL: a step that ends an episode returns that episode's last observation, and the
next ``reset`` (which collectors and ``rollout`` call with ``"_reset"`` set where the env is done)
returns the first observation of the next one. The core has already built it in the same step (its
auto-reset), so a partial reset costs nothing but the output. Agents cannot be reset one at a time: a
``_reset`` of a group entry alone leaves a person who left done (``allow_done_after_reset``). A full
``reset()`` starts seed ``seed + b`` the first time (and after ``set_seed``), else every env's next
episode.

    from recsim_marl.integrations.torchrl import RecSimEnv
    env = RecSimEnv(scenario="tiny", num_envs=64, device="cpu")
    rollout = env.rollout(25)                     # random actions
"""

from __future__ import annotations

import numpy as np
import torch

import recsim_marl
from recsim_marl.core.vec_env import GROUPS

try:
    from tensordict import TensorDict, TensorDictBase
    from torchrl.data import Bounded, Categorical, Composite, Unbounded
    from torchrl.envs import EnvBase
except ImportError as exc:  # pragma: no cover - exercised only without torchrl
    raise ImportError(
        "recsim_marl.integrations.torchrl needs TorchRL: `pip install torchrl` (with the torch you already have, "
        "e.g. `pip install torchrl torch==$(python -c 'import torch; print(torch.__version__.split(\"+\")[0])')`)"
    ) from exc


def _box(low: np.ndarray, high: np.ndarray, shape: tuple, device) -> Bounded | Unbounded:
    if np.isfinite(low).all() and np.isfinite(high).all():
        lo = torch.as_tensor(low, device=device).expand(shape).clone()
        hi = torch.as_tensor(high, device=device).expand(shape).clone()
        return Bounded(low=lo, high=hi, shape=shape, dtype=torch.float32, device=device)
    return Unbounded(shape=shape, dtype=torch.float32, device=device)


def _merge(*parts: dict) -> dict:
    """Nested dicts merged key by key (group entries from several sources side by side)."""
    out: dict = {}
    for part in parts:
        for k, v in part.items():
            out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class RecSimEnv(EnvBase):
    """A TorchRL environment of ``num_envs`` worlds of ``scenario`` (config overrides as keywords).

    ``seed`` (or :meth:`set_seed`) seeds the envs as :meth:`recsim_marl.VecEnv.reset` does: env ``b``
    gets ``seed + b``. ``validate=False`` (the default here) keeps the step free of host reads; actions
    must then be in range, which every TorchRL spec sample and masked policy gives.
    """

    batch_locked = True

    def __init__(self, scenario: str = "default", num_envs: int = 1, device="cpu", seed: int = 0,
                 validate: bool = False, compile: bool = False, **config):
        self.venv = recsim_marl.make_vec(num_envs=num_envs, device=device, scenario=scenario, validate=validate,
                                         compile=compile, **config)
        super().__init__(device=self.venv.device, batch_size=torch.Size([num_envs]), allow_done_after_reset=True)
        self.scenario = scenario
        self.config = self.venv.config
        self._seed = int(seed)
        self._next_obs = None  # the core's observation after its auto-reset, handed out by _reset
        self._make_specs()

    # --- specs -------------------------------------------------------------------------------------
    def _make_specs(self) -> None:
        b, dev, lay, v = self.batch_size[0], self.device, self.venv.layouts, self.venv
        obs, act, rew, done = {}, {}, {}, {}
        for g in GROUPS:
            n, a, size = v.num_agents[g], v.num_actions[g], lay[g].size
            obs[g] = Composite({
                "observation": _box(lay[g].low, lay[g].high, (b, n, size), dev),
                "action_mask": Categorical(n=2, shape=(b, n, a), dtype=torch.bool, device=dev),
            }, shape=(b, n), device=dev)
            slate = (self.config.slate_size,) if g == "users" and self.config.slate_size > 1 else ()
            act[g] = Composite({"action": Categorical(n=a, shape=(b, n, *slate), dtype=torch.long, device=dev)},
                               shape=(b, n), device=dev)
            rew[g] = Composite({"reward": Unbounded(shape=(b, n, 1), dtype=torch.float32, device=dev)},
                               shape=(b, n), device=dev)
            done[g] = Composite({k: Categorical(n=2, shape=(b, n, 1), dtype=torch.bool, device=dev)
                                 for k in ("done", "terminated", "truncated")}, shape=(b, n), device=dev)
        st = lay["state"]
        self.observation_spec = Composite({**obs, "state": _box(st.low, st.high, (b, st.size), dev)},
                                          shape=(b,), device=dev)
        self.action_spec = Composite(act, shape=(b,), device=dev)
        self.reward_spec = Composite(rew, shape=(b,), device=dev)
        self.done_spec = Composite({
            **done, **{k: Categorical(n=2, shape=(b, 1), dtype=torch.bool, device=dev)
                       for k in ("done", "terminated", "truncated")}}, shape=(b,), device=dev)

    # --- EnvBase -----------------------------------------------------------------------------------
    def _set_seed(self, seed: int | None) -> None:
        self._seed = 0 if seed is None else int(seed)
        self._next_obs = None  # the next reset starts from the new seed

    def _td(self, data: dict) -> TensorDictBase:
        """The output tensordict: batch ``[B]``, each group ``[B, N]`` (as the specs say)."""
        b = self.batch_size[0]
        for g in GROUPS:
            data[g] = TensorDict(data[g], batch_size=(b, self.venv.num_agents[g]), device=self.device)
        return TensorDict(data, batch_size=self.batch_size, device=self.device)

    def _obs_td(self, obs: dict, state: torch.Tensor) -> dict:
        return {
            **{g: {"observation": obs[g], "action_mask": obs["action_mask"][g]} for g in GROUPS},
            "state": state,
        }

    def _flags(self, user_term, user_trunc, env_term, env_trunc) -> dict:
        b = self.batch_size[0]
        n_items = self.venv.num_agents["items"]
        item_term = env_term[:, None].expand(b, n_items)
        item_trunc = env_trunc[:, None].expand(b, n_items)
        out = {
            "users": {"terminated": user_term[..., None], "truncated": user_trunc[..., None],
                      "done": (user_term | user_trunc)[..., None]},
            "items": {"terminated": item_term[..., None], "truncated": item_trunc[..., None],
                      "done": (item_term | item_trunc)[..., None]},
            "terminated": env_term[:, None], "truncated": env_trunc[:, None], "done": (env_term | env_trunc)[:, None],
        }
        return out

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs) -> TensorDictBase:
        partial = tensordict is not None and any(
            (k[-1] if isinstance(k, tuple) else k) == "_reset" for k in tensordict.keys(True, True))
        if not partial or self._next_obs is None:
            if self._next_obs is None:
                obs = self.venv.reset(seed=self._seed)  # first reset, or after set_seed
            else:  # a full reset without a new seed: every env starts its next episode
                s = self.venv.current
                obs = self.venv.reset(seed=s.seed.tolist(), episode=int(s.episode.max()) + 1)
            self._next_obs = obs
        # The core's observation is the current one: the envs it reset in the last step are in their
        # new episode. TorchRL takes from it only the rows whose "_reset" is set; people who left in
        # an env that goes on stay done.
        obs, b, dev = self._next_obs, self.batch_size[0], self.device
        gone = ~self.venv.current.alive
        no = torch.zeros_like(gone)
        no_env = torch.zeros(b, dtype=torch.bool, device=dev)
        return self._td(_merge(self._obs_td(obs, self.venv.state()), self._flags(gone, no, no_env, no_env)))

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        actions = {g: tensordict.get((g, "action")) for g in GROUPS}
        alive_before = self.venv.current.alive
        obs, rew, term, trunc, info = self.venv.step(actions)
        done = info["done"]
        self._next_obs = obs
        final = info["final_observation"]
        if self.device.type == "cpu" and not bool(done.any()):
            last, state = obs, self.venv.state()
        else:  # the finished envs show how they ended (on CUDA computed for all, selected without a host read)
            last = {
                g: torch.where(done.view(-1, 1, 1), final[g], obs[g]) for g in GROUPS
            }
            last["action_mask"] = {g: torch.where(done.view(-1, 1, 1), final["action_mask"][g], obs["action_mask"][g])
                                   for g in GROUPS}
            state = torch.where(done.view(-1, 1), final["state"], self.venv.state())
        # a person who left stays done (terminated) to the end of the episode
        gone = ~alive_before
        user_term = term["users"] | gone
        user_trunc = trunc["users"]
        env_term = term["items"][:, 0]
        env_trunc = trunc["items"][:, 0]
        td = _merge(self._obs_td(last, state), self._flags(user_term, user_trunc, env_term, env_trunc),
                    {g: {"reward": rew[g][..., None]} for g in GROUPS})
        return self._td(td)

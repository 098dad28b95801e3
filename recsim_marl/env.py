"""# RecSim MARL: a two-sided recommender platform as a PettingZoo parallel environment

| | |
|---|---|
| Import | `import recsim_marl; env = recsim_marl.parallel_env()` |
| Actions | Discrete (users' slates: MultiDiscrete) |
| Parallel API | Yes (AEC form: `recsim_marl.env()`) |
| Agents | `user_0 ... user_{U-1}`, `item_0 ... item_{I-1}` (U = num_users, I = num_items) |
| Action shape | user: `Discrete(num_candidates)`, or `MultiDiscrete([num_candidates] * S)` for a slate of S = slate_size > 1 candidates (the top first; a candidate repeated leaves its later slot empty; its `action_mask` is gymnasium's: one mask per slot); item: `Discrete(num_levels)`, or `Discrete((M + 1) num_levels)` for creators offered M = num_drafts drafts (all `Discrete(max(K, A))` with `pad_actions=True`) |
| Observation shape | user: `(2D + K(D + F_c) + F_p,)`; item: `(D + F_i,)`, creators `(D + F_i + 3 + D + M (D + 3),)` (float32 Box; F_c = 8 candidate features (9 where items change: their age), F_p = 6 person numbers, F_i = 6 item numbers today: `docs/observations.md`) |
| State shape | `(4D + S_u U + S_i I + 1,)` (S_u = 5, S_i = 3 per-agent entries today) |

A platform with U simulated people and I items. Each **user agent** is the personal recommender of one
person: it sees the person's K candidates (chosen by the platform's retrieval) and recommends one
(action = index into the list it observed). Its reward is the person's engagement (or click). Each
**item agent** is a provider choosing a promotion level (0 = none) that raises its item's retrieval
score at a cost; its reward is clicks earned minus spend. With `num_drafts = M > 0` it is a creator who
also chooses what to publish: action `p * num_levels + l` keeps its item (`p = 0`) or publishes draft
`p` of the M offered this step, and buys level `l` (so actions below `num_levels` are the plain levels). The people are not agents: a user model
decides clicks, satisfaction, interest drift, boredom and when they leave (their agent terminates).
Items terminate when nobody is left; everyone is truncated at `max_cycles`.

Observation fields are named by `recsim_marl.observation_layout(config)`. Action masks are in
`infos[agent]["action_mask"]` (item levels the funds cannot cover are masked; a masked level is
clamped to the highest affordable one; a draft the funds cannot pay for is masked, and asking for it
keeps the live item).

### Arguments

`parallel_env(scenario="default", render_mode=None, **config)`: `scenario` names a preset
(`recsim_marl.SCENARIOS`); any field of `recsim_marl.EnvConfig` may be overridden by keyword
(`num_users`, `num_items`, `num_candidates`, `embed_dim`, `max_cycles`, ...). Unknown keys are errors.
`render_mode`: `"ansi"` (table; with slates each person's slate, the chosen item starred), `"rgb_array"`
(2-D projection), `"human"` (prints the table).
`learn="users"` / `"items"` exposes one group and scripts the other (`users_policy=` / `items_policy=`);
`pad_actions=True` gives every agent `Discrete(max(K, L))` with padded masks; `num_worlds=B` steps B
worlds behind one env, agents `user_k_wW` / `item_k_wW` (see :func:`parallel_env`).

### Seeding

`reset(seed=s)` starts episode 0 of seed `s`; `reset()` without a seed starts the next episode of the
same seed (a fresh env draws a seed from the OS). The same seed and actions give the same trajectory.
"""

from __future__ import annotations

import math
import numbers
import secrets

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec_wrapper
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

from recsim_marl import render as render_mod
from recsim_marl import rng
from recsim_marl.config import make_config
from recsim_marl.core.vec_env import VecEnv


class RecSimParallelEnv(ParallelEnv):
    """The PettingZoo parallel form: ``num_worlds`` worlds (1 by default) of the batched core, numpy in and out."""

    metadata = {
        "name": "recsim_marl_v0",
        "render_modes": ["ansi", "rgb_array", "human"],
        "is_parallelizable": True,
        "render_fps": 4,
    }

    def __init__(self, scenario: str = "default", render_mode: str | None = None, learn: str = "both",
                 users_policy=None, items_policy=None, pad_actions: bool = False, num_worlds: int = 1, **config):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; use one of {self.metadata['render_modes']} or None"
            )
        if learn not in ("both", "users", "items"):
            raise ValueError(f"learn={learn!r} is invalid: use 'both', 'users' or 'items'")
        for name, pol in (("users_policy", users_policy), ("items_policy", items_policy)):
            if pol is not None and not callable(getattr(pol, "act", None)):
                raise TypeError(f"{name} must have a method act(obs, mask) -> actions; got {type(pol).__name__}")
            group = name.split("_")[0]
            if pol is not None and learn in ("both", group):
                raise ValueError(
                    f"{name} was given but learn={learn!r} exposes the {group} as agents, so it would never act; "
                    f"pass learn={'items' if group == 'users' else 'users'!r} to script the {group} with it, "
                    f"or drop {name}"
                )
        if not isinstance(pad_actions, bool):
            raise TypeError(f"pad_actions must be True or False, got {pad_actions!r}")
        if isinstance(num_worlds, bool) or not isinstance(num_worlds, int) or num_worlds < 1:
            raise ValueError(f"num_worlds={num_worlds!r} is invalid: it must be an int >= 1 (worlds stepped together)")
        self.num_worlds = num_worlds
        self.render_mode = render_mode
        self.learn = learn
        self.pad_actions = pad_actions
        self.scripted = {g: p for g, p in (("users", users_policy), ("items", items_policy))
                         if learn not in ("both", g)}
        self._build(make_config(scenario, **config))

    def _build(self, config) -> None:
        self.config = config
        b = self.num_worlds
        self._core = VecEnv(config, num_envs=b, device="cpu", validate=False)
        self.layouts = self._core.layouts
        u, i = config.num_users, config.num_items
        world = (lambda w: "") if b == 1 else (lambda w: f"_w{w}")  # one world: user_k; several: user_k_wW
        self.user_agents = [f"user_{k}{world(w)}" for w in range(b) for k in range(u)]
        self.item_agents = [f"item_{k}{world(w)}" for w in range(b) for k in range(i)]
        self.groups = ("users", "items") if self.learn == "both" else (self.learn,)
        self.possible_agents = (self.user_agents if "users" in self.groups else []) + (
            self.item_agents if "items" in self.groups else [])
        self.agent_index = {a: ("users", k) for k, a in enumerate(self.user_agents)}
        self.agent_index.update({a: ("items", k) for k, a in enumerate(self.item_agents)})
        own = self._core.num_actions  # each group's own number of actions (K, L)
        slates = config.slate_size > 1
        if slates and self.pad_actions:
            raise ValueError(f"pad_actions=True gives every agent one Discrete space, but with slate_size="
                             f"{config.slate_size} a user agent's action is a slate (MultiDiscrete); use pad_actions=False")
        # pad_actions: one action space for every agent, Discrete(max(K, L)); masks padded with False
        self._width = max(own.values()) if self.pad_actions else None
        self._obs_spaces, self._act_spaces = {}, {}
        for group, agents in (("users", self.user_agents), ("items", self.item_agents)):
            lay = self.layouts[group]
            for a in agents if group in self.groups else ():
                self._obs_spaces[a] = spaces.Box(lay.low, lay.high, dtype=np.float32)
                if slates and group == "users":  # an ordered slate: S candidate indices, the top first
                    self._act_spaces[a] = spaces.MultiDiscrete([own[group]] * config.slate_size)
                else:
                    self._act_spaces[a] = spaces.Discrete(self._width or own[group])
        lay = self.layouts["state"]
        self.state_space = spaces.Box(np.tile(lay.low, b), np.tile(lay.high, b), dtype=np.float32)
        self.agents: list[str] = []
        self._seed: int | None = None
        self._episode = 0
        self._last: dict | None = None
        self._terminal_state: np.ndarray | None = None  # [B, S] each world's state as last shown
        self._ended = np.zeros(b, dtype=bool)  # worlds whose episode ended (the core plays on, unseen)
        self._shown_state = None  # hidden state to render: the terminal one once an episode ended
        self._obs = None  # the core's last observation (the scripted group acts on it)

    # --- spaces --------------------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_spaces[self._check_agent(agent)]

    def action_space(self, agent: str) -> spaces.Discrete | spaces.MultiDiscrete:
        return self._act_spaces[self._check_agent(agent)]

    @property
    def max_cycles(self) -> int:
        return self.config.max_cycles

    @max_cycles.setter
    def max_cycles(self, value: int) -> None:
        """Changing the episode length rebuilds the env (cheap: the world is cached); reset after it."""
        self._build(self.config.replace(max_cycles=value))

    # --- API -----------------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict | None = None):
        # work on local copies: a refused seed (or any failure below) leaves the env as it was
        if seed is not None:
            new_seed, new_episode = rng.normalise_seeds(seed, self.num_worlds)[0], 0  # world w: seed + w
        elif self._seed is None:
            new_seed, new_episode = secrets.randbits(62), 0
        else:
            new_seed, new_episode = self._seed, self._episode + 1
        obs = self._core.reset(seed=new_seed, episode=new_episode)
        self._seed, self._episode = new_seed, new_episode
        self.agents = list(self.possible_agents)
        self._obs = obs
        self._last = None
        self._terminal_state = None
        self._ended[:] = False
        self._shown_state = None
        masks = self._masks(obs)
        return self._obs_dict(obs, self.agents), {a: {"action_mask": masks[a]} for a in self.agents}

    def step(self, actions: dict):
        if not self.agents:
            raise RuntimeError(
                "step() called but the episode is over (every agent is done) or reset() was never called; "
                "call reset() first"
            )
        ua, ia = self._actions_to_tensors(actions)
        acts = {"users": ua, "items": ia}
        for g in self.scripted:
            acts[g] = self._scripted_actions(g)
        obs, rew, term, trunc, info = self._core.step(acts)
        self._obs = obs
        done = info["done"].numpy() & ~self._ended  # worlds whose episode ends now
        ended = self._ended.copy()  # worlds that ended earlier: the core plays their next episode, unseen
        shown = obs
        if done.any():  # the core has already reset those worlds; report how their episodes ended
            final = info["final_observation"]
            shown = _rows_where(done, final, obs)
        if done.any() or ended.any():  # each world's state as last shown: frozen where it ended
            rows = self._core.state().numpy()
            if done.any():
                rows = np.where(done[:, None], final["state"].numpy(), rows)
            if ended.any():
                rows = np.where(ended[:, None], self._terminal_state, rows)
            self._terminal_state = rows
        else:
            self._terminal_state = None
        if not ended[0]:  # what render shows: world 0, as it ended
            self._shown_state = final["hidden"] if done[0] else self._core.current
        self._ended |= done
        live = self.agents
        obs_d = self._obs_dict(shown, live)
        rew_np = {g: rew[g].reshape(-1).numpy() for g in rew}
        term_np = {g: term[g].reshape(-1).numpy() for g in term}
        trunc_np = {g: trunc[g].reshape(-1).numpy() for g in trunc}
        masks = self._masks(shown)  # the masks of the observations returned (the final ones when done)
        rewards, terminations, truncations, infos = {}, {}, {}, {}
        for a in live:
            g, k = self.agent_index[a]
            rewards[a] = float(rew_np[g][k])
            terminations[a] = bool(term_np[g][k])
            truncations[a] = bool(trunc_np[g][k])
            infos[a] = {"action_mask": masks[a]}
        self.agents = [a for a in live if not (terminations[a] or truncations[a])]
        self._last = {
            "recommended": info["recommended"][0].numpy(),
            "clicked": info["clicked"][0].numpy(),
            "levels": info["levels"][0].numpy(),
            **{k: info[k][0].numpy() for k in ("slate", "chosen") if k in info},
        }
        if self.render_mode == "human":
            self.render()
        return obs_d, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """The global state (``state_space``): the worlds' states one after the other."""
        rows = self._terminal_state if self._terminal_state is not None else self._core.state().numpy()
        return rows.reshape(-1)

    def render(self):
        if self.render_mode is None:
            return None
        s = self._shown_state if self._shown_state is not None else self._core.current
        if self.render_mode == "rgb_array":
            exposure = s.impression_ma[0].numpy() + s.impressions[0].numpy()
            last = self._last or {}
            return render_mod.world_picture(
                self._core.catalogue.content[0].numpy(), s.interest[0].numpy(), s.present[0].numpy(), exposure,
                levels=s.promotion[0].numpy(), num_levels=self.config.num_levels, clicked=last.get("clicked"),
                recommended=last.get("recommended"), t=int(s.t[0]), max_cycles=self.config.max_cycles,
            )
        last = self._last or {}
        text = render_mod.ansi_table(
            [self._core.world.catalog.item_titles[j] for j in s.items[0].tolist()], int(s.t[0]),
            self.config.max_cycles, s.present[0].numpy(), s.budget[0].numpy(),
            last.get("recommended"), last.get("clicked"), last.get("levels"), last.get("slate"), last.get("chosen"),
            s.alive[0].numpy(),
        )
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        pass

    # --- helpers -------------------------------------------------------------------------------------
    def _check_agent(self, agent: str) -> str:
        if agent not in self._act_spaces and agent in self.agent_index:
            raise KeyError(
                f"agent {agent!r} is scripted in this env (learn={self.learn!r}): it is not one of env.agents "
                f"and takes no action; build the env with learn='both' to act for it"
            )
        if agent not in self._act_spaces:
            raise KeyError(
                f"unknown agent {agent!r}: agents are user_0..user_{self.config.num_users - 1} and "
                f"item_0..item_{self.config.num_items - 1}"
            )
        return agent

    def _scripted_actions(self, group: str) -> torch.Tensor:
        """``[B, N]`` actions of the scripted group from its policy (defaults: most relevant candidate;
        no promotion), checked like any policy's output."""
        obs, n = self._obs, self._core.num_actions[group]
        pol = self.scripted[group]
        if pol is None:
            if group == "items":
                return torch.zeros(self.num_worlds, self.config.num_items, dtype=torch.long)
            relevance = self.layouts["users"].read(obs["users"], "candidate_relevance")
            if self.config.slate_size > 1:  # the most relevant candidates, the most relevant on top
                return relevance.topk(self.config.slate_size, -1).indices
            return relevance.argmax(-1)
        a = pol.act(obs[group], obs["action_mask"][group])
        shape = tuple(obs[group].shape[:2]) + ((self.config.slate_size,) if group == "users" and
                                               self.config.slate_size > 1 else ())
        if (not isinstance(a, torch.Tensor) or tuple(a.shape) != shape
                or a.dtype.is_floating_point or a.dtype == torch.bool):
            got = f"{a.dtype} {tuple(a.shape)}" if isinstance(a, torch.Tensor) else type(a).__name__
            raise TypeError(f"{group}_policy.act must return an integer (long) tensor of shape "
                            f"{shape}, got {got}: actions are integer indices"
                            + (f" (a slate: {self.config.slate_size} candidate indices per person, the top slot first)"
                               if len(shape) == 3 else ""))
        if bool(((a < 0) | (a >= n)).any()):
            raise ValueError(f"{group}_policy.act returned actions outside 0..{n - 1}")
        return a.long()

    def _obs_dict(self, obs: dict, agents: list[str]) -> dict:
        rows = {g: obs[g].numpy().reshape(-1, obs[g].shape[-1]) for g in ("users", "items")}  # [B * N, F]
        out = {}
        for a in agents:
            g, k = self.agent_index[a]
            out[a] = rows[g][k]
        return out

    def _masks(self, obs: dict) -> dict:
        m = {g: obs["action_mask"][g].numpy().astype(np.int8).reshape(-1, obs["action_mask"][g].shape[-1])
             for g in ("users", "items")}
        if self._width is not None:  # padded actions are never valid
            m = {g: np.pad(v, ((0, 0), (0, self._width - v.shape[1]))) for g, v in m.items()}
        if self.config.slate_size > 1:  # gymnasium's mask of a MultiDiscrete: one [K] mask per slot
            return {a: (tuple([m[g][k]] * self.config.slate_size) if g == "users" else m[g][k])
                    for a, (g, k) in self.agent_index.items()}
        return {a: m[g][k] for a, (g, k) in self.agent_index.items()}

    def _actions_to_tensors(self, actions) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(actions, dict):
            raise TypeError(f"actions must be a dict from agent name to action, got {type(actions).__name__}")
        for a in actions:  # names first: an unknown agent is an error whether or not others are live
            self._check_agent(a)
        missing = [a for a in self.agents if a not in actions]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise ValueError(
                f"no action for live agent(s) {missing[:5]}{more}: give one action per agent in env.agents"
            )
        b, n_slate = self.num_worlds, self.config.slate_size
        # a scripted group's are filled in by step; a slate's empty rows are distinct (0..S-1) for the check
        ua = np.zeros((b * self.config.num_users, n_slate), dtype=np.int64) + np.arange(n_slate)
        ia = np.zeros(b * self.config.num_items, dtype=np.int64)
        live = set(self.agents)
        for a, act in actions.items():
            g, k = self.agent_index[a]
            space = self._act_spaces[a]
            if a not in live:
                # an agent that is done: frameworks (torchrl, RLlib, SuperSuit's black death) keep sending
                # actions for it, as PettingZoo's own aec_to_parallel does; a bad value is still an
                # error, a good one is ignored
                if act is not None:
                    _as_action(a, act, space)
                continue
            if g == "users" and n_slate > 1:
                ua[k] = _as_action(a, act, space)
                continue
            # a padded action past the group's own range means its last action (items: the top level,
            # which the core then clamps to the highest affordable one)
            value = min(_as_action(a, act, space), self._core.num_actions[g] - 1)
            (ua if g == "users" else ia)[k] = value
        ua = torch.from_numpy(ua).view(b, -1, n_slate)
        return (ua if n_slate > 1 else ua.squeeze(-1)), torch.from_numpy(ia).view(b, -1)


def _rows_where(done: np.ndarray, final, obs: dict) -> dict:
    """The observations to report: world ``w``'s final ones where ``done[w]``, else its current ones."""
    pick = torch.from_numpy(done)

    def rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.where(pick.view(-1, *[1] * (a.dim() - 1)), a, b)

    return {"users": rows(final["users"], obs["users"]), "items": rows(final["items"], obs["items"]),
            "action_mask": {g: rows(final["action_mask"][g], obs["action_mask"][g]) for g in ("users", "items")}}


def _as_action(agent: str, act, space):
    """An action of ``space`` (Discrete: an int; MultiDiscrete: a slate, an int array), or a clear error."""
    if isinstance(space, spaces.Discrete):
        return _as_index(agent, act, int(space.n))
    size, n = len(space.nvec), int(space.nvec[0])
    if isinstance(act, (list, tuple)):
        act = np.asarray(act)
    if not isinstance(act, np.ndarray) or act.shape != (size,):
        got = f"an array of shape {act.shape}" if isinstance(act, np.ndarray) else type(act).__name__
        raise ValueError(f"action for {agent!r} must be a slate: {size} candidate indices in 0..{n - 1}, the top "
                         f"slot first (MultiDiscrete), got {got}")
    if act.dtype.kind not in "iu":
        raise TypeError(f"action for {agent!r} has dtype {act.dtype}; a slate holds integer candidate indices")
    bad = (act < 0) | (act >= n)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(f"action for {agent!r} shows candidate {int(act[j])} in slot {j}: out of range, allowed "
                         f"0..{n - 1}")
    return act.astype(np.int64)


def _as_index(agent: str, act, n: int) -> int:
    """An action as a Python int in [0, n), or a clear error."""
    if isinstance(act, np.ndarray):
        if act.shape != ():
            raise ValueError(f"action for {agent!r} must be a scalar index, got an array of shape {act.shape}")
        act = act[()]
    if isinstance(act, (bool, np.bool_)):
        raise TypeError(f"action for {agent!r} is a bool ({act!r}); give an int in 0..{n - 1}")
    if isinstance(act, numbers.Integral):
        value = int(act)
    elif isinstance(act, numbers.Real):
        if not math.isfinite(float(act)):
            raise ValueError(f"action for {agent!r} is {act!r}; give an int in 0..{n - 1}")
        raise TypeError(f"action for {agent!r} is a float ({act!r}); give an int in 0..{n - 1}")
    else:
        raise TypeError(f"action for {agent!r} has type {type(act).__name__}; give an int in 0..{n - 1}")
    if not 0 <= value < n:
        raise ValueError(f"action {value} for {agent!r} is out of range: allowed 0..{n - 1}")
    return value


def parallel_env(scenario: str = "default", render_mode: str | None = None, learn: str = "both",
                 users_policy=None, items_policy=None, pad_actions: bool = False, num_worlds: int = 1,
                 **config) -> RecSimParallelEnv:
    """The PettingZoo parallel environment: one world, agents ``user_0..`` and ``item_0..`` (or several
    worlds in one env, ``num_worlds``).

    Keyword arguments:
        scenario: a registered scenario, ``recsim_marl.SCENARIOS`` ("default", "tiny", "boredom",
            "marketplace", "movielens-100k"); it sets the defaults below.
        render_mode: None, "ansi" (a text table), "rgb_array" (a 2-D projection) or "human".
        learn: "both" (default), "users" or "items": which group's agents the env exposes. The other
            group is scripted inside the env (a one-group view for single-group libraries):
        users_policy, items_policy: the scripted group's policy, any object with
            ``act(obs [B, N, O] tensor, mask [B, N, A] bool tensor) -> [B, N] long tensor``, B = num_worlds (the
            ``agents.policy.Policy`` protocol, e.g. ``agents.baselines.GreedyPolicy(config)``).
            Defaults: users recommend the most relevant candidate; items do not promote (level 0).
        pad_actions: give every agent one action space, ``Discrete(max(K, L))``, for libraries that put
            both groups under one policy (SuperSuit's padding); each ``infos[agent]["action_mask"]`` is
            padded with 0 (invalid) past the group's own actions, and such an action, if sent, means
            the group's last one (a user: candidate K-1; an item: its top level, clamped as any level
            to the highest affordable one).
        num_worlds: worlds stepped together by the batched core behind this one env (default 1), for
            frameworks that step one env per process (RLlib's env runners): agents ``user_k_wW`` and
            ``item_k_wW`` for world W, which is exactly the one-world env seeded ``seed + W``. A world
            whose episode ends early (everybody left) stays ended, its agents done, while the others play
            on; the env's episode ends when every world's has. ``state()`` is the worlds' states one
            after the other; ``render`` shows world 0.
        **config: any field of ``recsim_marl.EnvConfig`` overriding the scenario, e.g.
            num_users (people, one user agent each), num_items (items, one item agent each),
            num_candidates (K, the list a user agent chooses from: its action space),
            embed_dim (D, content dimensions), num_levels (promotion levels: the item action space),
            max_cycles (episode length), catalog ("synthetic", "movielens-100k", "custom") with
            item_texts / user_texts, encoder ("all-MiniLM-L6-v2", "hash" or a model path),
            user_model (a name in ``recsim_marl.USER_MODELS`` or a ``UserModel``), user_reward
            ("engagement" or "click"), and the user-model and market constants (click_temperature,
            boredom_rate, initial_budget, promotion_cost, ...; see ``recsim_marl/config.py``).
            Unknown keys and invalid values are errors naming the field.

    Observations, actions, rewards and seeding are described at the top of ``recsim_marl/env.py``;
    ``recsim_marl.observation_layout(env.config)`` names the observation's fields.
    """
    return RecSimParallelEnv(scenario=scenario, render_mode=render_mode, learn=learn, users_policy=users_policy,
                             items_policy=items_policy, pad_actions=pad_actions, num_worlds=num_worlds, **config)


class _CheckedAEC(parallel_to_aec_wrapper):
    """PettingZoo's parallel-to-AEC conversion, checking each action when it is given.

    The plain conversion stores actions until the cycle's last agent acts, so a bad action of
    ``user_0`` surfaced only then (naming the wrong moment) and stayed stored, failing every retry.
    Here a bad action raises at once, naming its agent and the allowed range, and nothing is stored.
    Done agents step with ``None`` (the PettingZoo convention).
    """

    def step(self, action):
        agent = self.agent_selection
        if self.terminations.get(agent, False) or self.truncations.get(agent, False):
            if action is not None:
                raise ValueError(
                    f"agent {agent!r} is done (terminated or truncated); step it with action None"
                )
        else:
            action = _as_action(agent, action, self.action_space(agent))
        super().step(action)


def raw_env(scenario: str = "default", render_mode: str | None = None, **config):
    """The AEC form: PettingZoo's parallel-to-AEC conversion (actions checked when given), order-enforced."""
    return OrderEnforcingWrapper(_CheckedAEC(parallel_env(scenario=scenario, render_mode=render_mode, **config)))


def env(scenario: str = "default", render_mode: str | None = None, **config):
    """The AEC environment (see :func:`raw_env`)."""
    return raw_env(scenario=scenario, render_mode=render_mode, **config)

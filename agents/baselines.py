"""Scripted reference policies (all implement :class:`agents.policy.Policy`).

| policy | group | what it does |
|---|---|---|
| RandomPolicy | any | uniform over allowed actions |
| GreedyPolicy | users | argmax relevance <p_hat, e> (myopic, what a plain ranker does) |
| PopularityPolicy | users | the candidate with the highest click moving average |
| OraclePolicy | users | **privileged**: reads hidden interest and boredom, maximises expected engagement now |
| FixedLevelPolicy | items | always the same promotion level (clamped to what funds cover) |
| PromoteWhenShownPolicy | items | promote (at a given level) only after being recommended last step |

:func:`scripted_policy` builds one by the name the learners' ``--users-policy`` / ``--items-policy`` take.
"""

from __future__ import annotations

import torch

from recsim_marl.core import observation_layout


class RandomPolicy:
    """Uniform over the mask's allowed actions (all actions without a mask). Seeded, own generator."""

    def __init__(self, num_actions: int, seed: int = 0, device: str | torch.device = "cpu"):
        self.num_actions = num_actions
        self.gen = torch.Generator(device=device).manual_seed(seed)

    def act(self, obs, mask):
        b, n = obs.shape[:2]
        scores = torch.rand(b, n, self.num_actions, generator=self.gen, device=self.gen.device).to(obs.device)
        if mask is not None:
            scores = scores.masked_fill(~mask, -1.0)
        return scores.argmax(-1)


class _FieldArgmax:
    field = ""

    def __init__(self, config):
        self.slice = observation_layout(config)["users"][self.field]

    def act(self, obs, mask):
        return obs[..., self.slice].argmax(-1)


class GreedyPolicy(_FieldArgmax):
    """Recommend the most relevant candidate by the platform's estimate."""

    field = "candidate_relevance"


class PopularityPolicy(_FieldArgmax):
    """Recommend the most clicked candidate lately."""

    field = "candidate_popularity"


class OraclePolicy:
    """PRIVILEGED upper reference: reads the hidden interest and boredom of the env it is bound to and
    picks the candidate with the highest expected immediate engagement P(click) * q * length.
    Not available to a real platform; use it only as a ceiling."""

    privileged = True

    def __init__(self, config):
        self.config = config
        self.venv = None

    def bind(self, venv) -> None:
        self.venv = venv

    def act(self, obs, mask):
        if self.venv is None:
            raise RuntimeError("OraclePolicy reads hidden state: call policy.bind(venv) first (evaluate() does)")
        c, s, w, m = self.config, self.venv.current, self.venv.world, self.venv.user_model
        e = w.content[s.candidates]  # [B, U, K, D]
        aff = m.affinity(c, s.interest.unsqueeze(2), s.boredom.unsqueeze(2), e)  # [B, U, K]
        z = w.quality[s.candidates]
        shown = s.promotion.gather(1, s.candidates.flatten(1)).view_as(z).to(z.dtype) / (c.num_levels - 1)
        p = m.click_probability(c, aff, z, shown)
        value = m.engagement(c, p, m.satisfaction(c, aff, z), w.length[s.candidates]) if c.user_reward == "engagement" else p
        return value.argmax(-1)


class FixedLevelPolicy:
    """Every item always asks for ``level`` (the core clamps it to what the funds cover)."""

    def __init__(self, level: int):
        self.level = level

    def act(self, obs, mask):
        a = torch.full(obs.shape[:2], self.level, dtype=torch.long, device=obs.device)
        if mask is not None:  # highest allowed level not above the fixed one
            levels = torch.arange(mask.shape[-1], device=obs.device)
            allowed = mask & (levels <= self.level)
            a = torch.where(allowed, levels, -1).amax(-1).clamp_min(0)
        return a


class PromoteWhenShownPolicy:
    """Promote at ``level`` (clamped to funds) when the item was recommended last step, else not.

    A scripted provider for scenarios where promotion draws clicks (``click_promotion > 0``): people
    who were shown an item tend to be shown it again, so paying only then wastes little."""

    def __init__(self, config, level: int | None = None):
        self.slice = observation_layout(config)["items"]["impression_share"]
        self.level = config.num_levels - 1 if level is None else level

    def act(self, obs, mask):
        shown = obs[..., self.slice].squeeze(-1) > 0
        a = torch.where(shown, self.level, 0)
        if mask is not None:
            levels = torch.arange(mask.shape[-1], device=obs.device)
            a = torch.minimum(a, torch.where(mask, levels, 0).amax(-1))
        return a


def user_baselines(config, seed: int = 0) -> dict:
    """The scripted user policies every comparison reports, by name ('oracle*' is privileged)."""
    return {
        "random": RandomPolicy(config.num_candidates, seed=seed),
        "popularity": PopularityPolicy(config),
        "greedy": GreedyPolicy(config),
        "oracle*": OraclePolicy(config),
    }


def scripted_policy(name: str, config, group: str, seed: int = 0, device="cpu"):
    """'random', 'greedy', 'popularity' (users) or 'fixed:L' (items, level L) as a Policy."""
    n_actions = config.num_candidates if group == "users" else config.num_levels
    if name == "random":
        return RandomPolicy(n_actions, seed=seed, device=device)
    if group == "users" and name == "greedy":
        return GreedyPolicy(config)
    if group == "users" and name == "popularity":
        return PopularityPolicy(config)
    if group == "items" and name.startswith("fixed:"):
        try:
            level = int(name.split(":", 1)[1])
        except ValueError:
            level = None
        if level is None or not 0 <= level < config.num_levels:
            raise ValueError(f"fixed level in {name!r} must be an integer in 0..{config.num_levels - 1}")
        return FixedLevelPolicy(level)
    allowed = "random, greedy, popularity" if group == "users" else f"random, fixed:0..fixed:{config.num_levels - 1}"
    raise ValueError(f"unknown scripted policy {name!r} for {group}: use one of {allowed}")

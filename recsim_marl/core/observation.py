"""Observation layouts, observations, ``state()`` and action masks (DESIGN §5).

Every observation is a flat float32 vector whose fields are contiguous slices; :func:`observation_layout`
returns their names, slices, shapes and bounds, so a policy can read ``obs[..., lay["candidate_relevance"]]``
instead of counting offsets.

user (``O_u = 2D + K(D + 7) + 4``)

======================== ======= ==========================================================
field                    shape   meaning
======================== ======= ==========================================================
estimate                 D       the platform's estimate p_hat of the person's interest
history                  D       h_tilde: moving average of what this person clicked
candidate_content        K x D   content vectors of the K candidates, best retrieved first
candidate_relevance      K       <p_hat, e> per candidate
candidate_familiarity    K       <h_tilde, e> per candidate
candidate_rating         K       quality as the platform sees it (a noisy rating)
candidate_promotion      K       the candidate's current promotion level / (L - 1)
candidate_popularity     K       the candidate's click moving average / the catalogue's largest
candidate_ctr            K       the candidate's click-through rate (click / impression moving averages; 0 if never recommended)
candidate_length         K       the candidate's length (duration) / the catalogue's longest
progress                 1       t / max_cycles
click_rate               1       moving average of this person's clicks
present                  1       1 while the person is in a visit, 0 while away or gone
time_away                1       steps since their last visit ended / max_cycles (0 while present)
======================== ======= ==========================================================

item (``O_i = D + 6``): content (D) | funds_fraction (funds / initial funds) | level (last level / (L-1))
| impression_share (share of last step's impressions) | ctr (click / impression moving averages)
| mean_promotion (of all items, / (L-1)) | time_fraction (t / max_cycles).

state (``4D + 5U + 3I + 1``), for centralised critics (it holds hidden variables: no policy should read
it at execution): mean and std over people of interest and of estimate, per-person budget (/ initial
budget), alive flag, present flag, satisfaction memory and trust, per-item promotion (/ (L-1)), funds
fraction and impression share, and t / max_cycles. It grows linearly in U + I. :data:`PER_AGENT_STATE`
names the fields with one entry per agent of a group (an agent's own entries: MAPPO's agent-specific
global state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from recsim_marl.config import EnvConfig
from recsim_marl.models import _kernels


@dataclass(frozen=True)
class Layout:
    """Named contiguous fields of a flat vector."""

    fields: dict[str, tuple[slice, tuple[int, ...]]]
    low: np.ndarray
    high: np.ndarray

    @property
    def size(self) -> int:
        return int(self.low.shape[0])

    def __getitem__(self, name: str) -> slice:
        return self.fields[name][0]

    def shape(self, name: str) -> tuple[int, ...]:
        return self.fields[name][1]

    def read(self, vec, name: str):
        """The field ``name`` of ``vec [..., size]``, reshaped to ``[..., *shape]``."""
        sl, shape = self.fields[name]
        return vec[..., sl].reshape(*vec.shape[:-1], *shape)


def _layout(spec: list[tuple[str, tuple[int, ...], float, float]]) -> Layout:
    fields, lows, highs, start = {}, [], [], 0
    for name, shape, lo, hi in spec:
        n = int(np.prod(shape))
        fields[name] = (slice(start, start + n), shape)
        lows.append(np.full(n, lo, np.float32))
        highs.append(np.full(n, hi, np.float32))
        start += n
    return Layout(fields, np.concatenate(lows), np.concatenate(highs))


QUALITY_BOUND = 5.0
"""Item quality is standardised and clipped to [-5, 5] when a world is built (5 sigma: no scenario's
catalogue reaches it), so that every observation has finite bounds."""
NORMAL_BOUND = 4.86
"""|z| of :func:`recsim_marl.rng.normal` is at most sqrt(-2 ln(0.5 / 65536)) = 4.854 (16-bit uniforms)."""


def bounds(config: EnvConfig) -> dict[str, float]:
    """Largest values of the fields that are not fractions, from the config alone.

    rating: quality (<= 5) plus rating noise (<= 4.86 sigma). funds / initial funds: a provider gains at
    most click_value per person per step. budget / initial budget: a person starts with at most
    exp(trait_spread * 4.86) times the median budget and gains at most kappa * sigma_u - 1 per step.
    memory: a moving average of +-sigma_u, so at most the largest sigma_u in size.
    Each is widened by 1% for float rounding.
    """
    c = config
    funds0 = max(c.initial_funds, 1e-6)
    widest = math.exp(c.trait_spread * NORMAL_BOUND)  # the largest log-normal trait multiplier
    return {
        "rating": QUALITY_BOUND + NORMAL_BOUND * c.rating_noise,
        "funds_fraction": 1.01 * (funds0 + c.click_value * c.num_users * c.max_cycles) / funds0,
        "budget": 1.01 * (widest + c.max_cycles * max(0.0, c.budget_gain * widest - 1.0) / c.initial_budget),
        "memory": 1.01 * widest,
    }


def user_layout(config: EnvConfig) -> Layout:
    """The user agents' observation layout (its size depends on D and K only)."""
    d, k = config.embed_dim, config.num_candidates
    top = bounds(config)
    return _layout([
        ("estimate", (d,), -1, 1),
        ("history", (d,), -1, 1),
        ("candidate_content", (k, d), -1, 1),
        ("candidate_relevance", (k,), -1, 1),
        ("candidate_familiarity", (k,), -1, 1),
        ("candidate_rating", (k,), -top["rating"], top["rating"]),
        ("candidate_promotion", (k,), 0, 1),
        ("candidate_popularity", (k,), 0, 1),
        ("candidate_ctr", (k,), 0, 1),
        ("candidate_length", (k,), 0, 1),
        ("progress", (1,), 0, 1),
        ("click_rate", (1,), 0, 1),
        ("present", (1,), 0, 1),
        ("time_away", (1,), 0, 1),
    ])


def item_layout(config: EnvConfig) -> Layout:
    """The item agents' observation layout (its size depends on D only)."""
    top = bounds(config)
    return _layout([
        ("content", (config.embed_dim,), -1, 1),
        ("funds_fraction", (1,), 0, top["funds_fraction"]),
        ("level", (1,), 0, 1),
        ("impression_share", (1,), 0, 1),
        ("ctr", (1,), 0, 1),
        ("mean_promotion", (1,), 0, 1),
        ("time_fraction", (1,), 0, 1),
    ])


PER_AGENT_STATE = {"users": ("budget", "alive", "present", "memory", "trust"),
                   "items": ("promotion", "funds_fraction", "impression_share")}
"""The fields of the state layout with one entry per agent of a group, in agent order."""


def observation_layout(config: EnvConfig) -> dict[str, Layout]:
    """``{"users": Layout, "items": Layout, "state": Layout}`` for a config (every bound finite)."""
    d, u, i = config.embed_dim, config.num_users, config.num_items
    top = bounds(config)
    state = _layout([
        ("interest_mean", (d,), -1, 1),
        ("interest_std", (d,), 0, 1),
        ("estimate_mean", (d,), -1, 1),
        ("estimate_std", (d,), 0, 1),
        ("budget", (u,), 0, top["budget"]),
        ("alive", (u,), 0, 1),
        ("present", (u,), 0, 1),
        ("memory", (u,), -top["memory"], top["memory"]),
        ("trust", (u,), 0, 1),
        ("promotion", (i,), 0, 1),
        ("funds_fraction", (i,), 0, top["funds_fraction"]),
        ("impression_share", (i,), 0, 1),
        ("time_fraction", (1,), 0, 1),
    ])
    return {"users": user_layout(config), "items": item_layout(config), "state": state}


def _clip(x: torch.Tensor, lay: Layout) -> torch.Tensor:
    # float rounding can put a unit vector's coordinate at 1 + 1e-7; keep every value inside the Box
    lo = torch.as_tensor(lay.low, device=x.device)
    hi = torch.as_tensor(lay.high, device=x.device)
    return torch.maximum(torch.minimum(x, hi), lo)


def popularity(click_ma: torch.Tensor) -> torch.Tensor:
    """``[B, I]`` click moving average divided by the catalogue's largest (0 when nobody clicked)."""
    return click_ma / click_ma.amax(-1, keepdim=True).clamp_min(1e-6)


def click_through(s) -> torch.Tensor:
    """``[B, I]`` each item's click-through rate as the platform logs it: its click moving average over
    its impression moving average, in [0, 1] (0 for an item never recommended)."""
    return (s.click_ma / s.impression_ma.clamp_min(1e-6)).clamp(0.0, 1.0)


def length_fraction(world) -> torch.Tensor:
    """``[I]`` each item's length (its duration: what a fully satisfied click is worth) / the longest."""
    return world.length / world.length.amax()


def user_observation(world, config: EnvConfig, s, candidates: torch.Tensor, lay: Layout,
                     backend: str = "auto") -> torch.Tensor:
    """``[B, U, O_u]`` for state ``s`` with candidate lists ``candidates [B, U, K]``.

    Values are kept inside the layout's bounds where they are made (dot products of unit vectors can
    round to 1 + 1e-7), not by clipping the whole, mostly content, observation afterwards.
    ``backend``: ``"auto"`` (the compiled kernel on CPU when numba is installed), ``"torch"``, ``"kernel"``.
    """
    b, u, k = candidates.shape
    l1 = config.num_levels - 1
    promotion = s.promotion.to(torch.float32) / l1
    pop = popularity(s.click_ma)
    ctr = click_through(s)
    progress = s.t.to(torch.float32) / config.max_cycles
    def put(name, value):
        out[..., lay[name]] = value.reshape(b, u, -1)

    # the per-person scalars, in the kernel's PERSON_FIELDS order, each inside its bounds
    person = torch.stack([s.click_rate.clamp(0.0, 1.0), s.present.to(torch.float32),
                          (s.away / config.max_cycles).clamp(0.0, 1.0)], dim=-1)
    length = length_fraction(world)
    if _kernels.use(backend, candidates.device):
        return _kernels.user_observation(world.content, candidates, s.estimate, s.history, s.rating, promotion, pop,
                                         ctr, length, progress, person, lay)
    cont = world.content[candidates]  # [B, U, K, D]; world.content is clamped to [-1, 1]
    flat = candidates.reshape(b, u * k)
    out = torch.empty(b, u, lay.size, dtype=torch.float32, device=candidates.device)

    put("estimate", s.estimate.clamp(-1.0, 1.0))
    put("history", s.history.clamp(-1.0, 1.0))
    put("candidate_content", cont)
    put("candidate_relevance", torch.einsum("bukd,bud->buk", cont, s.estimate).clamp_(-1.0, 1.0))
    put("candidate_familiarity", torch.einsum("bukd,bud->buk", cont, s.history).clamp_(-1.0, 1.0))
    put("candidate_rating", torch.gather(s.rating, 1, flat))
    put("candidate_promotion", torch.gather(promotion, 1, flat))
    put("candidate_popularity", torch.gather(pop, 1, flat))
    put("candidate_ctr", torch.gather(ctr, 1, flat))
    put("candidate_length", length[candidates])
    put("progress", progress.reshape(b, 1, 1).expand(b, u, 1))
    for f, name in enumerate(_kernels.PERSON_FIELDS):
        put(name, person[..., f])
    return out


def item_observation(world, config: EnvConfig, s, lay: Layout) -> torch.Tensor:
    """``[B, I, O_i]``."""
    b, i = s.funds.shape
    l1 = config.num_levels - 1
    level = s.promotion.to(torch.float32) / l1
    share = s.impressions / s.impressions.sum(-1, keepdim=True).clamp_min(1.0)
    cols = [
        (s.funds / max(config.initial_funds, 1e-6)).clamp(0.0, float(lay.high[lay["funds_fraction"]][0])),
        level,
        share,
        click_through(s),
        level.mean(-1, keepdim=True).expand(b, i),
        (s.t.to(torch.float32) / config.max_cycles).unsqueeze(-1).expand(b, i),
    ]
    return torch.cat([world.content.expand(b, i, -1), torch.stack(cols, dim=-1)], dim=-1)


def global_state(config: EnvConfig, s, lay: Layout) -> torch.Tensor:
    """``[B, S]`` compact centralised state (see module docstring)."""
    b = s.budget.shape[0]
    share = s.impressions / s.impressions.sum(-1, keepdim=True).clamp_min(1.0)
    st = torch.cat(
        [
            s.interest.mean(1), s.interest.std(1, unbiased=False),
            s.estimate.mean(1), s.estimate.std(1, unbiased=False),
            s.budget.clamp_min(0) / config.initial_budget, s.alive.to(torch.float32), s.present.to(torch.float32),
            s.memory, s.trust,
            s.promotion.to(torch.float32) / (config.num_levels - 1),
            s.funds / max(config.initial_funds, 1e-6), share,
            (s.t.to(torch.float32) / config.max_cycles).reshape(b, 1),
        ],
        dim=-1,
    )
    return _clip(st, lay)


def user_mask(present: torch.Tensor, k: int) -> torch.Tensor:
    """``[B, U, K]``: every candidate for a person who is present; only action 0 (ignored) for one who is
    away or left."""
    mask = present.unsqueeze(-1).expand(*present.shape, k).clone()
    mask[..., 0] = True
    return mask

"""Observations, ``state()`` and action masks (DESIGN §5), each field declared once.

:data:`FIELDS` holds one table per group (``users``, ``items``, ``state``): a :class:`Field` per row
gives the field's name, shape, bounds, one-line meaning and how it is computed. Everything else is
derived from those rows: the layouts (:func:`observation_layout`: each field a contiguous slice of a
flat float32 vector, in table order), the torch writers, the compiled kernel's offsets, the learners'
feature lists (:func:`fields_of`), :data:`PER_AGENT_STATE` and the documentation table
(``docs/observations.md``, written by ``python docs/make_observations.py``). A new feature of a
candidate is one row here plus its computation.

How a field is computed is its ``kind``:

========== ======== =====================================================================================
kind       groups   value
========== ======== =====================================================================================
person     users    ``value(x)`` ``[B, U]`` (a scalar) or ``[B, U, D]`` (a vector): one per person
content    users,   the content vectors of the candidates (users) or of the item (items), from the world
           items    (already inside [-1, 1]: never clamped again)
affinity   users    per candidate, the dot product of its content with the person vector field ``of``
candidate  users    ``value(x)`` ``[B, I]`` (or ``[I]``): a per-item number, read at each candidate
item       items    ``value(x)`` ``[B, I]``: one per item agent
state      state    ``value(x)`` ``[B, n]``
========== ======== =====================================================================================

Every value except ``content`` is clamped to its field's bounds where it is written (a dot product of
unit vectors can round to 1 + 1e-7), so every observation lies in its ``Box``. ``state`` holds hidden
variables, for centralised critics only: no policy should read it at execution. It grows linearly in
U + I.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from recsim_marl.config import EnvConfig
from recsim_marl.core.world import take
from recsim_marl.models import _kernels, creators, market


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
        "cost_fraction": 1.01 * (c.quality_cost + c.appeal_cost) * QUALITY_BOUND**2 / funds0,
    }


# --- the quantities several fields share ---------------------------------------------------------------

def popularity(click_ma: torch.Tensor) -> torch.Tensor:
    """``[B, I]`` click moving average divided by the catalogue's largest (0 when nobody clicked)."""
    return click_ma / click_ma.amax(-1, keepdim=True).clamp_min(1e-6)


def click_through(s) -> torch.Tensor:
    """``[B, I]`` each item's click-through rate as the platform logs it: its click moving average over
    its impression moving average, in [0, 1] (0 for an item never recommended)."""
    return (s.click_ma / s.impression_ma.clamp_min(1e-6)).clamp(0.0, 1.0)


def completion(s) -> torch.Tensor:
    """``[B, I]`` the mean share of each item that the people who clicked it watched (its completion-rate
    and click moving averages' ratio), in [0, 1] (0 for an item never clicked)."""
    return (s.completion_ma / s.click_ma.clamp_min(1e-6)).clamp(0.0, 1.0)


def length_fraction(world) -> torch.Tensor:
    """``[B, I]`` each item's length (its duration: what a fully satisfied click is worth) / the longest
    of its world's catalogue."""
    return world.length / world.length.amax(-1, keepdim=True)


class Inputs:
    """What a field's ``value`` reads: the worlds' catalogues (:class:`recsim_marl.core.world.Catalogue`),
    the config and the state ``s`` of a batch, and the quantities several fields share (computed once
    per observation)."""

    def __init__(self, world, config: EnvConfig, s):
        self.world, self.config, self.s = world, config, s

    @functools.cached_property
    def level(self) -> torch.Tensor:
        """``[B, I]`` each item's current promotion level / (L - 1)."""
        return self.s.promotion.to(torch.float32) / (self.config.num_levels - 1)

    @functools.cached_property
    def time(self) -> torch.Tensor:
        """``[B]`` t / max_cycles."""
        return self.s.t.to(torch.float32) / self.config.max_cycles

    @functools.cached_property
    def impression_share(self) -> torch.Tensor:
        """``[B, I]`` each item's share of the last step's impressions."""
        imp = self.s.impressions
        return imp / imp.sum(-1, keepdim=True).clamp_min(1.0)

    def per_person(self, x: torch.Tensor) -> torch.Tensor:
        """``[B]`` -> ``[B, U]``."""
        return x.unsqueeze(-1).expand(-1, self.config.num_users)

    def per_item(self, x: torch.Tensor) -> torch.Tensor:
        """``[B]`` -> ``[B, I]``."""
        return x.unsqueeze(-1).expand(-1, self.config.num_items)

    @functools.cached_property
    def drafts(self) -> torch.Tensor:
        """``[B, I, M]`` pool indices of the drafts offered to each creator now."""
        return creators.drafts(self.world.pool, self.config, self.s)[0]


Bound = float | str
"""A number, or the name of an entry of :func:`bounds` (``"-name"`` for its negative)."""


@dataclass(frozen=True)
class Field:
    """One field of an observation (or of the state): its row in :data:`FIELDS`.

    shape: symbols ``"D"``, ``"K"``, ``"U"``, ``"I"`` (the config's embed_dim, num_candidates,
    num_users, num_items) or ints. low, high: :data:`Bound`. kind and value: see the module docstring;
    of: the person vector an ``affinity`` field is taken with. when: the mechanism the field belongs to,
    ``when(config)`` True where it is on (the field is left out of the layouts of worlds without it);
    None: always.
    """

    name: str
    shape: tuple[str | int, ...]
    low: Bound
    high: Bound
    meaning: str
    kind: str
    value: Callable[[Inputs], torch.Tensor] | None = None
    of: str | None = None
    when: Callable[[EnvConfig], bool] | None = None

    def present(self, config: EnvConfig) -> bool:
        """Whether worlds of ``config`` have this field."""
        return self.when is None or bool(self.when(config))

    def dims(self, config: EnvConfig) -> tuple[int, ...]:
        sizes = {"D": config.embed_dim, "K": config.num_candidates, "U": config.num_users, "I": config.num_items,
                 "M": config.num_drafts}
        return tuple(sizes[d] if isinstance(d, str) else d for d in self.shape)

    def limits(self, config: EnvConfig) -> tuple[float, float]:
        top = bounds(config)

        def one(v: Bound) -> float:
            if isinstance(v, str):
                return -top[v[1:]] if v.startswith("-") else top[v]
            return float(v)

        return one(self.low), one(self.high)


F = Field
CHANGING = lambda c: c.items_change  # noqa: E731 - the fields of worlds whose items change
PUBLISHING = lambda c: c.num_drafts > 0  # noqa: E731 - the fields of creators who are offered drafts
USER_FIELDS = (
    F("estimate", ("D",), -1, 1, "the platform's estimate p_hat of the person's interest", "person",
      lambda x: x.s.estimate),
    F("history", ("D",), -1, 1, "h_tilde: the platform's moving average of what this person clicked", "person",
      lambda x: x.s.history),
    F("candidate_content", ("K", "D"), -1, 1, "content vectors of the K candidates, best retrieved first", "content"),
    F("candidate_relevance", ("K",), -1, 1, "<p_hat, e> per candidate", "affinity", of="estimate"),
    F("candidate_familiarity", ("K",), -1, 1, "<h_tilde, e> per candidate", "affinity", of="history"),
    F("candidate_rating", ("K",), "-rating", "rating", "quality as the platform sees it (a noisy rating)",
      "candidate", lambda x: x.s.rating),
    F("candidate_promotion", ("K",), 0, 1, "the candidate's current promotion level / (L - 1)", "candidate",
      lambda x: x.level),
    F("candidate_popularity", ("K",), 0, 1, "the candidate's click moving average / the catalogue's largest",
      "candidate", lambda x: popularity(x.s.click_ma)),
    F("candidate_ctr", ("K",), 0, 1,
      "the candidate's click-through rate (click / impression moving averages; 0 if never recommended)",
      "candidate", lambda x: click_through(x.s)),
    F("candidate_length", ("K",), 0, 1, "the candidate's length (duration) / the longest in its world's catalogue",
      "candidate",
      lambda x: length_fraction(x.world)),
    F("candidate_completion", ("K",), 0, 1,
      "the mean share of the candidate its viewers watched (completion / click moving averages; 0 if never clicked)",
      "candidate", lambda x: completion(x.s)),
    F("candidate_age", ("K",), 0, 1, "steps since the candidate was published / max_cycles (new items have no logs yet)",
      "candidate", lambda x: x.s.age / x.config.max_cycles, when=CHANGING),
    F("progress", (1,), 0, 1, "t / max_cycles", "person", lambda x: x.per_person(x.time)),
    F("click_rate", (1,), 0, 1, "moving average of this person's clicks", "person", lambda x: x.s.click_rate),
    F("watch_rate", (1,), 0, 1,
      "moving average of the share of each recommendation this person watched (0 when not clicked)", "person",
      lambda x: x.s.watch_rate),
    F("visit_time", (1,), 0, 1, "steps since this visit began / max_cycles (0 while away)", "person",
      lambda x: x.s.visit_time / x.config.max_cycles),
    F("present", (1,), 0, 1, "1 while the person is in a visit, 0 while away or gone", "person",
      lambda x: x.s.present.to(torch.float32)),
    F("time_away", (1,), 0, 1, "steps since their last visit ended / max_cycles (0 while present)", "person",
      lambda x: x.s.away / x.config.max_cycles),
)
ITEM_FIELDS = (
    F("content", ("D",), -1, 1, "the item's content vector", "content"),
    F("funds_fraction", (1,), 0, "funds_fraction", "the provider's funds / initial funds", "item",
      lambda x: x.s.funds / max(x.config.initial_funds, 1e-6)),
    F("level", (1,), 0, 1, "the promotion level it holds now (the last one paid for) / (L - 1)", "item",
      lambda x: x.level),
    F("impression_share", (1,), 0, 1, "its share of the last step's impressions", "item",
      lambda x: x.impression_share),
    F("ctr", (1,), 0, 1, "its click-through rate (click / impression moving averages)", "item",
      lambda x: click_through(x.s)),
    F("mean_promotion", (1,), 0, 1, "the mean promotion level of all items / (L - 1)", "item",
      lambda x: x.per_item(x.level.mean(-1))),
    F("time_fraction", (1,), 0, 1, "t / max_cycles", "item", lambda x: x.per_item(x.time)),
    F("age", (1,), 0, 1, "steps since its live item was published / max_cycles", "item",
      lambda x: x.s.age / x.config.max_cycles, when=CHANGING),
    F("quality", (1,), -QUALITY_BOUND, QUALITY_BOUND, "its live item's true quality (the creator knows what it made)",
      "item", lambda x: x.world.quality, when=PUBLISHING),
    F("appeal", (1,), -QUALITY_BOUND, QUALITY_BOUND, "its live item's appeal (how clickable it is)", "item",
      lambda x: x.world.appeal, when=PUBLISHING),
    F("trending_content", ("D",), -1, 1, "the content of the world's most clicked item now (a public trending list)",
      "item", lambda x: take(x.world.content, popularity(x.s.click_ma).argmax(-1, keepdim=True)).expand_as(x.world.content),
      when=PUBLISHING),
    F("draft_content", ("M", "D"), -1, 1, "the content vectors of the M drafts it may publish now", "item",
      lambda x: take(x.world.pool.content.unsqueeze(0).expand(x.drafts.shape[0], -1, -1), x.drafts),
      when=PUBLISHING),
    F("draft_quality", ("M",), -QUALITY_BOUND, QUALITY_BOUND, "each draft's true quality", "item",
      lambda x: x.world.pool.quality[x.drafts], when=PUBLISHING),
    F("draft_appeal", ("M",), -QUALITY_BOUND, QUALITY_BOUND, "each draft's appeal", "item",
      lambda x: x.world.pool.appeal[x.drafts], when=PUBLISHING),
    F("draft_cost", ("M",), 0, "cost_fraction", "what publishing each draft costs / initial funds", "item",
      lambda x: creators.draft_costs(x.world.pool, x.config, x.drafts) / max(x.config.initial_funds, 1e-6),
      when=PUBLISHING),
)
STATE_FIELDS = (
    F("interest_mean", ("D",), -1, 1, "mean over people of the hidden interest", "state",
      lambda x: x.s.interest.mean(1)),
    F("interest_std", ("D",), 0, 1, "std over people of the hidden interest", "state",
      lambda x: x.s.interest.std(1, unbiased=False)),
    F("estimate_mean", ("D",), -1, 1, "mean over people of the platform's estimate", "state",
      lambda x: x.s.estimate.mean(1)),
    F("estimate_std", ("D",), 0, 1, "std over people of the platform's estimate", "state",
      lambda x: x.s.estimate.std(1, unbiased=False)),
    F("budget", ("U",), 0, "budget", "each person's remaining budget / initial budget (hidden)", "state",
      lambda x: x.s.budget.clamp_min(0) / x.config.initial_budget),
    F("alive", ("U",), 0, 1, "1 while the person is in the episode", "state", lambda x: x.s.alive.to(torch.float32)),
    F("present", ("U",), 0, 1, "1 while the person is in a visit", "state", lambda x: x.s.present.to(torch.float32)),
    F("memory", ("U",), "-memory", "memory", "each person's satisfaction memory m (hidden)", "state",
      lambda x: x.s.memory),
    F("trust", ("U",), 0, 1, "each person's trust in sponsored items (hidden)", "state", lambda x: x.s.trust),
    F("promotion", ("I",), 0, 1, "each item's promotion level / (L - 1)", "state", lambda x: x.level),
    F("funds_fraction", ("I",), 0, "funds_fraction", "each provider's funds / initial funds", "state",
      lambda x: x.s.funds / max(x.config.initial_funds, 1e-6)),
    F("impression_share", ("I",), 0, 1, "each item's share of the last step's impressions", "state",
      lambda x: x.impression_share),
    F("time_fraction", (1,), 0, 1, "t / max_cycles", "state", lambda x: x.time.unsqueeze(-1)),
)
del F

FIELDS: dict[str, tuple[Field, ...]] = {"users": USER_FIELDS, "items": ITEM_FIELDS, "state": STATE_FIELDS}
"""The one declaration of every observation field, per group, in layout order."""


def fields_of(group: str, *kinds: str, config: EnvConfig | None = None) -> tuple[str, ...]:
    """Names of the fields of ``group`` of the given kinds, in layout order (all without ``kinds``); with
    ``config``, only those its worlds have.

    >>> fields_of("users", "affinity", "candidate")[:2]
    ('candidate_relevance', 'candidate_familiarity')
    """
    return tuple(f.name for f in FIELDS[group] if (not kinds or f.kind in kinds)
                 and (config is None or f.present(config)))


def present_fields(group: str, config: EnvConfig) -> tuple[Field, ...]:
    """The rows of ``group``'s table that worlds of ``config`` have, in layout order."""
    return tuple(f for f in FIELDS[group] if f.present(config))


PER_AGENT_STATE = {
    group: tuple(f.name for f in STATE_FIELDS if f.shape == (symbol,))
    for group, symbol in (("users", "U"), ("items", "I"))
}
"""The fields of the state layout with one entry per agent of a group, in agent order (derived from
the table: the state fields of shape U or I)."""


def _group_layout(group: str, config: EnvConfig) -> Layout:
    return _layout([(f.name, f.dims(config), *f.limits(config)) for f in present_fields(group, config)])


def user_layout(config: EnvConfig) -> Layout:
    """The user agents' observation layout (its size depends on D and K only)."""
    return _group_layout("users", config)


def item_layout(config: EnvConfig) -> Layout:
    """The item agents' observation layout (its size depends on D only)."""
    return _group_layout("items", config)


def observation_layout(config: EnvConfig) -> dict[str, Layout]:
    """``{"users": Layout, "items": Layout, "state": Layout}`` for a config (every bound finite)."""
    return {group: _group_layout(group, config) for group in FIELDS}


def field_table(group: str) -> str:
    """The documentation table (markdown) of a group's fields, straight from :data:`FIELDS`."""
    def bound(v: Bound) -> str:
        if isinstance(v, str):
            return f"-{v[1:]}*" if v.startswith("-") else f"{v}*"
        return f"{v:g}"

    rows = ["| field | shape | low | high | meaning |", "|---|---|---|---|---|"]
    for f in FIELDS[group]:
        shape = " x ".join(str(d) for d in f.shape)
        where = {None: "", CHANGING: " (worlds whose items change)", PUBLISHING: " (num_drafts > 0)"}[f.when]
        rows.append(f"| `{f.name}` | {shape} | {bound(f.low)} | {bound(f.high)} | {f.meaning}{where} |")
    return "\n".join(rows)


def _clamped(value: torch.Tensor, f: Field, config: EnvConfig) -> torch.Tensor:
    return value.clamp(*f.limits(config))


def user_observation(world, config: EnvConfig, s, candidates: torch.Tensor, lay: Layout,
                     backend: str = "auto") -> torch.Tensor:
    """``[B, U, O_u]`` for state ``s`` with candidate lists ``candidates [B, U, K]``, every field of
    :data:`USER_FIELDS` where ``lay`` puts it.

    ``backend``: ``"auto"`` (the compiled kernel on CPU when numba is installed), ``"torch"``, ``"kernel"``.
    """
    b, u, k = candidates.shape
    x = Inputs(world, config, s)
    fs = present_fields("users", config)
    person = {f.name: f.value(x) for f in fs if f.kind == "person"}
    items = [f for f in fs if f.kind == "candidate"]
    if _kernels.use(backend, candidates.device):
        vectors = [f for f in fs if f.kind == "person" and f.shape == ("D",)]
        scalars = [f for f in fs if f.kind == "person" and f.shape == (1,)]
        per_item = torch.stack([_clamped(f.value(x), f, config).expand(b, -1) for f in items], -1)  # [B, I, F]
        affinities = [f for f in fs if f.kind == "affinity"]
        shared = world.content.stride(0) == 0  # one catalogue for every world: the kernel reads one copy
        return _kernels.user_observation(
            world.content[:1] if shared else world.content, candidates,
            vectors=torch.stack([person[f.name] for f in vectors], 2), vector_fields=[f.name for f in vectors],
            vector_bounds=[f.limits(config) for f in vectors],
            affinities=[(f.name, [v.name for v in vectors].index(f.of)) for f in affinities],
            affinity_bounds=[f.limits(config) for f in affinities],
            content_field=next(f.name for f in fs if f.kind == "content"),
            per_item=per_item, item_fields=[f.name for f in items],
            scalars=torch.stack([_clamped(person[f.name], f, config) for f in scalars], -1),
            scalar_fields=[f.name for f in scalars], layout=lay,
        )
    out = torch.empty(b, u, lay.size, dtype=torch.float32, device=candidates.device)
    cont = take(world.content, candidates)  # [B, U, K, D]; content is clamped to [-1, 1] when a pool is built
    flat = candidates.reshape(b, u * k)
    for f in fs:
        if f.kind == "content":
            value = cont
        elif f.kind == "affinity":
            value = _clamped(torch.einsum("bukd,bud->buk", cont, person[f.of]), f, config)
        elif f.kind == "candidate":
            value = _clamped(torch.gather(f.value(x).expand(b, -1), 1, flat), f, config)
        else:
            value = _clamped(person[f.name], f, config)
        out[..., lay[f.name]] = value.reshape(b, u, -1)
    return out


def item_observation(world, config: EnvConfig, s, lay: Layout) -> torch.Tensor:
    """``[B, I, O_i]``, every field of :data:`ITEM_FIELDS` where ``lay`` puts it."""
    b, i = s.funds.shape
    x = Inputs(world, config, s)
    out = torch.empty(b, i, lay.size, dtype=torch.float32, device=s.funds.device)
    for f in present_fields("items", config):
        value = world.content if f.kind == "content" else _clamped(f.value(x), f, config)
        out[..., lay[f.name]] = value.reshape(b, i, -1)
    return out


def global_state(world, config: EnvConfig, s, lay: Layout) -> torch.Tensor:
    """``[B, S]`` compact centralised state, every field of :data:`STATE_FIELDS` where ``lay`` puts it."""
    x = Inputs(world, config, s)
    out = torch.empty(s.t.shape[0], lay.size, dtype=torch.float32, device=s.t.device)
    for f in present_fields("state", config):
        out[:, lay[f.name]] = _clamped(f.value(x), f, config)
    return out


def item_mask(world, config: EnvConfig, s) -> torch.Tensor:
    """``[B, I, A]`` the item actions allowed now: the levels the funds cover and, for creators, publishing
    the drafts the funds pay for (:func:`recsim_marl.models.creators.action_mask`)."""
    if not config.num_drafts:
        return market.level_mask(s.funds, config.num_levels, config.promotion_cost)
    idx, ratings = creators.drafts(world.pool, config, s)
    return creators.action_mask(config, s.funds, creators.draft_costs(world.pool, config, idx), ratings)


def user_mask(present: torch.Tensor, k: int) -> torch.Tensor:
    """``[B, U, K]``: every candidate for a person who is present; only action 0 (ignored) for one who is
    away or left."""
    mask = present.unsqueeze(-1).expand(*present.shape, k).clone()
    mask[..., 0] = True
    return mask

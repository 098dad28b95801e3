"""Creators: item agents who choose what to publish, pay to make it, and leave when they run out of money
(docs/world.md, "Creators").

Each item agent is the creator who owns a slot of its world's catalogue. With ``num_drafts = M > 0`` it
is offered M drafts per step, real items of its split's pool (their texts, embeddings, quality, appeal
and length), drawn by the world's seed; its action ``p * L + l`` keeps its live item (``p = 0``) or
publishes draft ``p`` and buys promotion level ``l``. A draft costs ``kappa_q max(q, 0)^2 + kappa_a
max(a, 0)^2`` to make. With ``upkeep > 0`` staying costs every creator that much per step; one whose
funds fall below 0 leaves, and a newcomer takes the slot with an item of the pool and the initial funds.
Every draw here is keyed by (seed, episode, step, purpose), so the numpy reference draws the same.
"""

from __future__ import annotations

import torch

from recsim_marl import rng
from recsim_marl.config import EnvConfig
from recsim_marl.models import market


def decode(action: torch.Tensor, config: EnvConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """An item action ``[B, I]`` -> (publish in [0, M], level in [0, L)), each clamped into its range
    (with ``validate=False`` an out-of-range action keeps the item and buys the nearest level)."""
    n = config.num_levels
    action = action.clamp(0, config.num_item_actions - 1)
    return torch.div(action, n, rounding_mode="floor"), action % n


def drafts(pool, config: EnvConfig, s) -> tuple[torch.Tensor, torch.Tensor]:
    """The drafts offered to every creator at state ``s``: pool indices ``[B, I, M]`` and the rating the
    platform would see for each (quality + rating_noise * N(0, 1), drawn with the draft)."""
    m, i = config.num_drafts, config.num_items
    keys = rng.stream_keys(s.seed, s.episode, s.t, (rng.Purpose.DRAFTS, rng.Purpose.DRAFT_RATING))
    idx = rng.integers(keys[0], pool.pool_items, (i, m))
    rating = pool.quality[idx] + config.rating_noise * rng.normal(keys[1], (i, m))
    return idx, rating


def entrants(pool, config: EnvConfig, s) -> tuple[torch.Tensor, torch.Tensor]:
    """The item each slot's newcomer would enter with after the step from state ``s`` (pool indices
    ``[B, I]``) and its rating."""
    i = config.num_items
    keys = rng.stream_keys(s.seed, s.episode, s.t, (rng.Purpose.ENTRANTS, rng.Purpose.ENTRANT_RATING))
    idx = rng.integers(keys[0], pool.pool_items, (i,))
    return idx, pool.quality[idx] + config.rating_noise * rng.normal(keys[1], (i,))


def production_cost(config: EnvConfig, quality: torch.Tensor, appeal: torch.Tensor) -> torch.Tensor:
    """What making an item of ``quality`` and ``appeal`` costs: ``kappa_q max(q, 0)^2 + kappa_a max(a, 0)^2``
    (quality takes effort, clickbait is cheap; convex as in C4, Yao et al. 2024)."""
    return config.quality_cost * quality.clamp_min(0) ** 2 + config.appeal_cost * appeal.clamp_min(0) ** 2


def draft_costs(pool, config: EnvConfig, idx: torch.Tensor) -> torch.Tensor:
    """``[B, I, M]`` the production cost of drafts ``idx``."""
    return production_cost(config, pool.quality[idx], pool.appeal[idx])


def publishable(config: EnvConfig, funds: torch.Tensor, costs: torch.Tensor, ratings: torch.Tensor) -> torch.Tensor:
    """``[B, I, M]`` bool: the drafts a creator may publish now: its funds pay for them and, with a
    ``quality_gate``, the platform's review passes them (their rating is at least the gate)."""
    ok = costs <= funds.unsqueeze(-1)
    return ok if config.quality_gate is None else ok & (ratings >= config.quality_gate)


def action_mask(config: EnvConfig, funds: torch.Tensor, costs: torch.Tensor, ratings: torch.Tensor) -> torch.Tensor:
    """``[B, I, (M + 1) L]`` bool: publish ``p`` at level ``l`` is allowed when the draft is publishable
    and the funds left after its cost cover the level's spend (keeping the item at level 0 always is)."""
    left = torch.cat([funds.unsqueeze(-1), funds.unsqueeze(-1) - costs], -1)  # [B, I, M + 1]
    levels = market.level_mask(left.clamp_min(0), config.num_levels, config.promotion_cost)  # [B, I, M + 1, L]
    ok = torch.cat([torch.ones_like(funds, dtype=torch.bool).unsqueeze(-1),
                    publishable(config, funds, costs, ratings)], -1)
    return (levels & ok.unsqueeze(-1)).flatten(-2)


def publish(config: EnvConfig, pool, s, action: torch.Tensor):
    """Apply the creators' actions at state ``s``: returns (published ``[B, I]`` bool, their new items'
    pool indices and ratings ``[B, I]`` (the live ones where not published), production cost ``[B, I]``,
    level ``[B, I]`` long, promotion spend ``[B, I]``). A draft the funds cannot pay for is not published
    (the item is kept), nor one the quality gate refuses, and a level is clamped to what the funds left
    cover, as the mask says."""
    p, level = decode(action, config)
    idx, rating = drafts(pool, config, s)
    costs = draft_costs(pool, config, idx)
    zero = torch.zeros_like(s.funds).unsqueeze(-1)
    cost = torch.gather(torch.cat([zero, costs], -1), 2, p.unsqueeze(-1)).squeeze(-1)
    ok = torch.cat([torch.ones_like(zero, dtype=torch.bool), publishable(config, s.funds, costs, rating)], -1)
    ok = torch.gather(ok, 2, p.unsqueeze(-1)).squeeze(-1)
    p = torch.where(ok, p, 0)
    cost = torch.where(ok, cost, 0.0)
    level, spend = market.pay_for_promotion(level, s.funds - cost, config.num_levels, config.promotion_cost)
    pick = (p - 1).clamp_min(0).unsqueeze(-1)
    published = p > 0
    items = torch.where(published, torch.gather(idx, 2, pick).squeeze(-1), s.items)
    ratings = torch.where(published, torch.gather(rating, 2, pick).squeeze(-1), s.rating)
    return published, items, ratings, cost, level, spend

"""Items' side of a step (DESIGN §4 steps 9-10): promotion spend, funds, rewards, team mixing."""

from __future__ import annotations

import torch


def affordable_levels(funds: torch.Tensor, num_levels: int, cost: float) -> torch.Tensor:
    """Highest promotion level each item can pay for now: ``[B, I]`` long in [0, L)."""
    if cost == 0:
        return torch.full_like(funds, num_levels - 1, dtype=torch.long)
    per_level = cost / (num_levels - 1)
    return torch.clamp(torch.floor(funds / per_level + 1e-6), 0, num_levels - 1).long()


def level_mask(funds: torch.Tensor, num_levels: int, cost: float) -> torch.Tensor:
    """``[B, I, L]`` bool: True for levels the funds cover (level 0 always)."""
    top = affordable_levels(funds, num_levels, cost)
    levels = torch.arange(num_levels, device=funds.device)
    return levels <= top.unsqueeze(-1)


def pay_for_promotion(level: torch.Tensor, funds: torch.Tensor, num_levels: int, cost: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Clamp each chosen level to what the funds cover; return (level, spend) with spend = kappa_p * a / (L - 1)."""
    # clamp to [0, L-1] first: with validate=False a negative level would otherwise pass minimum
    # unchanged and its negative spend would create funds (no host read: clamp is a tensor op)
    level = torch.minimum(level.clamp(0, num_levels - 1), affordable_levels(funds, num_levels, cost))
    return level, cost * level.to(funds.dtype) / (num_levels - 1)


def item_rewards(clicks: torch.Tensor, spend: torch.Tensor, click_value: float) -> torch.Tensor:
    """Provider reward = v * clicks - spend, ``[B, I]``."""
    return click_value * clicks - spend


def team_mix(reward: torch.Tensor, active: torch.Tensor, alpha: float) -> torch.Tensor:
    """r <- (1 - alpha) r + alpha * mean of r over the active agents of the group (per env)."""
    if alpha == 0.0:
        return reward
    act = active.to(reward.dtype)
    mean = (reward * act).sum(-1, keepdim=True) / act.sum(-1, keepdim=True).clamp_min(1.0)
    return ((1.0 - alpha) * reward + alpha * mean) * act


def sponsored(candidates: torch.Tensor, promotion: torch.Tensor, pick: torch.Tensor, draw: torch.Tensor,
              present: torch.Tensor, ad_load: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What each person is shown ``[B, U]``, whether it is an ad, and the level whose bid a click on the
    ad pays: where ``draw < ad_load`` (a present person) and a candidate of theirs is promoted, the
    candidate with the highest level (the earliest retrieved among equals) replaces the agent's ``pick``
    and pays the next highest level among the other candidates, at least 1 (second price, reserve).

    candidates ``[B, U, K]``; promotion ``[B, I]`` long; pick ``[B, U]`` item indices; draw ``[B, U]``
    uniforms."""
    b, u, k = candidates.shape
    level = torch.gather(promotion, 1, candidates.reshape(b, u * k)).view(b, u, k)
    rank = level * k + torch.arange(k - 1, -1, -1, device=level.device)  # highest level, then earliest
    best = rank.argmax(-1, keepdim=True)
    ad = present & (draw < ad_load) & (torch.gather(level, 2, best).squeeze(-1) > 0)
    second = level.scatter(2, best, -1).amax(-1).clamp_min(1)  # the next bid, at least the reserve
    return torch.where(ad, torch.gather(candidates, 2, best).squeeze(-1), pick), ad, second

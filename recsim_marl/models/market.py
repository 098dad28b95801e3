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

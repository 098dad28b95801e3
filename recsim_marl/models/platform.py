"""The platform's side of a person: what it estimates and logs from clicks (never the person's hidden state).

The person (:mod:`recsim_marl.models.user`) and the platform are kept apart on purpose: the platform
sees only what it recommended and whether it was clicked, and keeps its own moving averages of that.
"""

from __future__ import annotations

import torch
from torch.nn.functional import normalize


def update_estimate(estimate: torch.Tensor, content: torch.Tensor, click: torch.Tensor, rate) -> torch.Tensor:
    """p_hat <- normalize((1 - lambda_e) p_hat + lambda_e * click * e): the platform learns from clicks.

    ``rate``: a float, or ``[...]`` per person (0 for a person away: the estimate stays, renormalised)."""
    if isinstance(rate, torch.Tensor):
        rate = rate.unsqueeze(-1)
    return normalize(torch.lerp(estimate, click.unsqueeze(-1) * content, rate), dim=-1)


def update_history(history: torch.Tensor, content: torch.Tensor, click: torch.Tensor, rate) -> torch.Tensor:
    """h_tilde <- (1 - r) h_tilde + r * click * e: the platform's log of what the person clicked.

    ``rate``: a float, or ``[...]`` per person (0 for a person away: their log stays as it was)."""
    if isinstance(rate, torch.Tensor):
        rate = rate.unsqueeze(-1)
    return torch.lerp(history, click.unsqueeze(-1) * content, rate)


def update_log_rate(average: torch.Tensor, value: torch.Tensor, rate: float) -> torch.Tensor:
    """A per-person moving average the platform logs: of clicks (click rate) or of the share of each
    recommendation watched (watch rate)."""
    return (1.0 - rate) * average + rate * value

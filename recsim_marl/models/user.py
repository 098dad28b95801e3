"""The user model of DESIGN §4 steps 2-8: pure tensor functions, batched over any leading dims.

Shapes: vectors ``[..., D]``, scalars per person ``[...]``. ``click`` is float 0/1 so that it can
multiply. None of these functions draws random numbers or keeps state.
"""

from __future__ import annotations

import torch
from torch.nn.functional import normalize


def affinity(interest: torch.Tensor, boredom: torch.Tensor, content: torch.Tensor, boredom_weight: float) -> torch.Tensor:
    """s = <p, e> - gamma * <h, e>: how much the person likes the item now, net of boredom."""
    return (interest * content).sum(-1) - boredom_weight * (boredom * content).sum(-1)


def click_probability(aff: torch.Tensor, quality: torch.Tensor, temperature: float, quality_weight: float, bias: float,
                      promotion: torch.Tensor | float = 0.0, promotion_weight: float = 0.0) -> torch.Tensor:
    """P(click) = sigmoid(tau * s + zeta * z + c0 + xi * promotion), promotion = level / (L - 1) in [0, 1]."""
    return torch.sigmoid(temperature * aff + quality_weight * quality + bias + promotion_weight * promotion)


def satisfaction(aff: torch.Tensor, quality: torch.Tensor, temperature: float, quality_weight: float) -> torch.Tensor:
    """q = sigmoid(tau_w * s + zeta_w * z), in (0, 1)."""
    return torch.sigmoid(temperature * aff + quality_weight * quality)


def engagement(click: torch.Tensor, sat: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """w = click * q * length: time spent with the recommended item."""
    return click * sat * length


def drift_interest(interest: torch.Tensor, content: torch.Tensor, click: torch.Tensor, sat: torch.Tensor, rate: float) -> torch.Tensor:
    """p <- normalize(p + eta * click * (2q - 1) * (e - p)): toward liked items, away from disliked ones."""
    step = (rate * click * (2.0 * sat - 1.0)).unsqueeze(-1)
    return normalize(interest + step * (content - interest), dim=-1)


def update_boredom(boredom: torch.Tensor, content: torch.Tensor, click: torch.Tensor, rate: float) -> torch.Tensor:
    """h <- (1 - rho) h + rho * click * e: a moving average of consumed content."""
    return (1.0 - rate) * boredom + rate * click.unsqueeze(-1) * content


def update_budget(budget: torch.Tensor, click: torch.Tensor, sat: torch.Tensor, gain: float) -> torch.Tensor:
    """beta <- beta - 1 + kappa * click * (2q - 1): each step costs one unit; good clicks give time back."""
    return budget - 1.0 + gain * click * (2.0 * sat - 1.0)


def update_estimate(estimate: torch.Tensor, content: torch.Tensor, click: torch.Tensor, rate: float) -> torch.Tensor:
    """p_hat <- normalize((1 - lambda_e) p_hat + lambda_e * click * e): the platform learns from clicks."""
    return normalize((1.0 - rate) * estimate + rate * click.unsqueeze(-1) * content, dim=-1)

"""The user model of DESIGN §4 steps 2-8: pure tensor functions, batched over any leading dims, and
the :class:`UserModel` object (with its registry ``USER_MODELS``) through which the core calls them.

Shapes: vectors ``[..., D]``, scalars per person ``[...]``. ``click`` is float 0/1 so that it can
multiply. None of these functions draws random numbers or keeps state.
"""

from __future__ import annotations

import difflib

import torch
from torch.nn.functional import normalize


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``1 / (1 + exp(-x))``, bit-identical for an element whatever the tensor's size.

    ``torch.sigmoid`` on the CPU computes the SIMD-wide part of a tensor and its tail with formulas
    that differ in the last bit, so the same person got a different click probability in a batch of
    64 worlds than alone (README: env ``b`` of a batch equals a single env). ``exp`` has no such split.
    """
    return torch.exp(-x).add_(1.0).reciprocal_()


def affinity(interest: torch.Tensor, boredom: torch.Tensor, content: torch.Tensor, boredom_weight: float) -> torch.Tensor:
    """s = <p, e> - gamma * <h, e>: how much the person likes the item now, net of boredom."""
    return (interest * content).sum(-1) - boredom_weight * (boredom * content).sum(-1)


def click_probability(aff: torch.Tensor, quality: torch.Tensor, temperature: float, quality_weight: float, bias: float,
                      promotion: torch.Tensor | float = 0.0, promotion_weight: float = 0.0) -> torch.Tensor:
    """P(click) = sigmoid(tau * s + zeta * z + c0 + xi * promotion), promotion = level / (L - 1) in [0, 1]."""
    return sigmoid(temperature * aff + quality_weight * quality + bias + promotion_weight * promotion)


def satisfaction(aff: torch.Tensor, quality: torch.Tensor, temperature: float, quality_weight: float) -> torch.Tensor:
    """q = sigmoid(tau_w * s + zeta_w * z), in (0, 1)."""
    return sigmoid(temperature * aff + quality_weight * quality)


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


class UserModel:
    """The simulated people of DESIGN §4 steps 2-7 as one object: the core calls these methods.

    Each method gets the :class:`~recsim_marl.EnvConfig` (for its constants) and batched tensors.
    To simulate other people, subclass and override what changes, then pass an instance whole
    (``make_vec(user_model=MyModel())``) or register it by name (``USER_MODELS["mine"] = MyModel()``,
    then ``user_model="mine"``). Keep the methods pure tensor functions: no host reads, no state,
    no random numbers (the core draws the click from ``click_probability``).
    """

    def affinity(self, c, interest, boredom, content):
        """``[B, U]`` how much each person likes the recommended item now."""
        return affinity(interest, boredom, content, c.boredom_weight)

    def click_probability(self, c, aff, quality, shown_level):
        """``[B, U]`` P(click); ``shown_level`` is the promotion level shown with the item, / (L - 1)."""
        return click_probability(aff, quality, c.click_temperature, c.click_quality, c.click_bias, shown_level,
                                 c.click_promotion)

    def satisfaction(self, c, aff, quality):
        """``[B, U]`` q in (0, 1)."""
        return satisfaction(aff, quality, c.satisfaction_temperature, c.satisfaction_quality)

    def engagement(self, c, click, sat, length):
        """``[B, U]`` the user agent's reward (with ``user_reward="engagement"``)."""
        return engagement(click, sat, length)

    def drift_interest(self, c, interest, content, click, sat):
        """``[B, U, D]`` the next true interest (unit rows)."""
        return drift_interest(interest, content, click, sat, c.drift_rate)

    def update_boredom(self, c, boredom, content, click):
        """``[B, U, D]`` the next boredom."""
        return update_boredom(boredom, content, click, c.boredom_rate)

    def update_budget(self, c, budget, click, sat):
        """``[B, U]`` the next budget (a person leaves when it reaches 0)."""
        return update_budget(budget, click, sat, c.budget_gain)


USER_MODELS: dict[str, UserModel] = {"default": UserModel()}
"""Named user models; ``EnvConfig.user_model`` names one (or is an instance). Add yours here."""


def resolve_user_model(spec) -> UserModel:
    """The :class:`UserModel` a config's ``user_model`` names (a registered name or an instance)."""
    if isinstance(spec, UserModel):
        return spec
    if isinstance(spec, str) and spec in USER_MODELS:
        return USER_MODELS[spec]
    if isinstance(spec, str):
        close = difflib.get_close_matches(spec, USER_MODELS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown user_model {spec!r}.{hint} Registered: {', '.join(USER_MODELS)}; register yours with "
            "recsim_marl.USER_MODELS[name] = model, or pass a UserModel instance"
        )
    raise TypeError(f"user_model must be a registered name or a recsim_marl.UserModel instance, got {type(spec).__name__}")

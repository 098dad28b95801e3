"""A custom user model's outputs, checked as they are made (``validate=True``).

:class:`CheckedUserModel` wraps a :class:`~recsim_marl.models.user.UserModel` that is not the built-in
one and checks each method's output before the core uses it: its shape (that of the argument it
updates, or of the affinity it is a function of), that it is a float tensor, finite, and inside the
method's range (probabilities in [0, 1]). A bad output is a ``ValueError`` naming the model's class, the
method, what is wrong and how to fix it, instead of a silent wrong result (a NaN click probability
gives no click at all; a probability of 2 a certain one) or a size error deep in the step. The checks
read values on the host: ``validate=False`` (or ``compile=True``) leaves them out.
"""

from __future__ import annotations

import math

import torch

# method -> (the output's shape: that of its first tensor argument (a state it updates), or the broadcast
# of all its tensor arguments (a probability or reward of them); low; high)
_CHECKS: dict[str, tuple[str, float, float]] = {
    "click_probability": ("broadcast", 0.0, 1.0),
    "satisfaction": ("broadcast", 0.0, 1.0),
    "engagement": ("broadcast", 0.0, math.inf),
    "expected_reward": ("broadcast", -math.inf, math.inf),
    "return_probability": ("broadcast", 0.0, 1.0),
    "drift_interest": ("first", -math.inf, math.inf),
    "update_boredom": ("first", -math.inf, math.inf),
    "update_memory": ("first", -math.inf, math.inf),
    "update_budget": ("first", -math.inf, math.inf),
    "update_trust": ("first", 0.0, 1.0),
}


class CheckedUserModel:
    """``inner``'s methods, each output checked (see the module docstring); other attributes pass through."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name == "affinity":
            return self._affinity
        if name == "sample_traits":
            return self._sample_traits
        if name not in _CHECKS:
            return attr
        mode, low, high = _CHECKS[name]

        def checked(c, *args, **kwargs):
            out = attr(c, *args, **kwargs)
            tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
            shape = tensors[0].shape if mode == "first" else torch.broadcast_shapes(*(a.shape for a in tensors))
            self._check(name, out, tuple(shape), low, high)
            return out

        return checked

    def _affinity(self, c, tr, interest, boredom, content):
        out = self.inner.affinity(c, tr, interest, boredom, content)
        shape = torch.broadcast_shapes(interest.shape[:-1], boredom.shape[:-1], content.shape[:-1])
        self._check("affinity", out, tuple(shape), -math.inf, math.inf)
        return out

    def _sample_traits(self, c, normal, activity=1.0):
        out = self.inner.sample_traits(c, normal, activity)
        self._check("sample_traits", out, tuple(normal.shape), -math.inf, math.inf)
        return out

    def _check(self, method: str, out, shape: tuple, low: float, high: float) -> None:
        who = f"user model {type(self.inner).__name__}.{method}"
        fix = f"fix {method} (or pass validate=False to skip these checks)"
        if not isinstance(out, torch.Tensor) or not out.is_floating_point():
            kind = type(out).__name__ if not isinstance(out, torch.Tensor) else f"a {out.dtype} tensor"
            raise ValueError(f"{who} returned {kind}; it must return a float tensor of shape {list(shape)}: {fix}")
        if tuple(out.shape) != shape:
            raise ValueError(f"{who} returned shape {list(out.shape)}; the core needs {list(shape)} (one value "
                             f"per {'person and dimension' if len(shape) == 3 else 'person'}): {fix}")
        bad = ~torch.isfinite(out)
        if bool(bad.any()):
            raise ValueError(f"{who} returned {int(bad.sum())} non-finite value(s) (NaN or inf): {fix}")
        lo, hi = float(out.min()), float(out.max())
        if lo < low or hi > high:
            raise ValueError(f"{who} returned values in [{lo:.4g}, {hi:.4g}], outside [{low:g}, {high:g}]: {fix}")

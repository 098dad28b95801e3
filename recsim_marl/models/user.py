"""The simulated people (docs/world.md): pure tensor functions, batched over any leading dims, and
the :class:`UserModel` object (with its registry ``USER_MODELS``) that the core, the reference, the
oracles, the planner and ``evaluate`` all ask, so that people are defined once.

Shapes: vectors ``[..., D]``, scalars per person ``[...]``. ``click`` and ``satisfied`` are float 0/1 so
that they can multiply (a probability in their place gives the expected value). None of these
functions draws random numbers or keeps state; the core draws the click and the satisfaction.

People differ: each has traits (:data:`TRAITS`) drawn from the population when an episode starts and
hidden from the platform. :class:`Traits` carries them, per person (tensors) or for the median person
(floats, :meth:`UserModel.population`), so the same formulas serve the true model and a model-based
policy that only knows the population.
"""

from __future__ import annotations

import difflib

import torch
from torch.nn.functional import normalize

TRAITS = ("click_bias", "appeal_weight", "boredom_rate", "boredom_weight", "sensitivity", "budget", "return_rate")
"""Per-person parameters, in the order of ``State.traits[..., j]``."""


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``1 / (1 + exp(-x))``, bit-identical for an element whatever the tensor's size.

    ``torch.sigmoid`` on the CPU computes the SIMD-wide part of a tensor and its tail with formulas
    that differ in the last bit, so the same person got a different click probability in a batch of
    64 worlds than alone (README: env ``b`` of a batch equals a single env). ``exp`` has no such split.
    """
    return torch.exp(-x).add_(1.0).reciprocal_()


class Traits:
    """Named per-person parameters: tensors ``[...]`` (one value per person) or floats (everyone alike)."""

    def __init__(self, **values):
        self.__dict__.update(values)

    @classmethod
    def of(cls, traits: torch.Tensor) -> Traits:
        """The view of a ``[..., len(TRAITS)]`` tensor (``State.traits``)."""
        return cls(**{name: traits[..., j] for j, name in enumerate(TRAITS)})

    def per_candidate(self) -> Traits:
        """Each tensor with a trailing axis, to broadcast against ``[..., K]`` candidate values."""
        return Traits(**{k: v.unsqueeze(-1) if isinstance(v, torch.Tensor) else v for k, v in self.__dict__.items()})


def affinity(interest: torch.Tensor, boredom: torch.Tensor, content: torch.Tensor, boredom_weight) -> torch.Tensor:
    """s = <p, e> - gamma_u * <h, e>: how much the person likes the item now, net of boredom."""
    return (interest * content).sum(-1) - boredom_weight * (boredom * content).sum(-1)


def click_probability(aff, appeal, shown, trust, temperature: float, bias, appeal_weight, promotion: float,
                      distrust: float) -> torch.Tensor:
    """P(click) = sigmoid(c_u + tau * s + alpha_u * a + shown * (xi * T - psi * (1 - T))).

    ``shown`` = promotion level shown / (L - 1) in [0, 1]; ``trust`` T in [0, 1]."""
    sponsored = shown * (promotion * trust - distrust * (1.0 - trust))
    return sigmoid(bias + temperature * aff + appeal_weight * appeal + sponsored)


def satisfaction(aff: torch.Tensor, quality: torch.Tensor, temperature: float, quality_weight: float,
                 bias: float) -> torch.Tensor:
    """q = sigmoid(tau_w * s + zeta_w * z + s0), in (0, 1): P(a click satisfies). No appeal, no promotion."""
    return sigmoid(temperature * aff + quality_weight * quality + bias)


def engagement(click: torch.Tensor, satisfied: torch.Tensor, length: torch.Tensor, disappointed_dwell: float) -> torch.Tensor:
    """w = click * length * (satisfied + lambda_d * (1 - satisfied)): time spent with the recommended item."""
    return click * length * (satisfied + disappointed_dwell * (1.0 - satisfied))


def drift_interest(interest: torch.Tensor, content: torch.Tensor, click: torch.Tensor, satisfied: torch.Tensor,
                   rate: float) -> torch.Tensor:
    """p <- normalize(p + eta * click * (2 sat - 1) * (e - p)): toward satisfying items, away from others."""
    step = (rate * click * (2.0 * satisfied - 1.0)).unsqueeze(-1)
    return normalize(interest + step * (content - interest), dim=-1)


def update_boredom(boredom: torch.Tensor, content: torch.Tensor, click: torch.Tensor, elsewhere: torch.Tensor,
                   rate, exposure: float, elsewhere_weight: float, present=1.0) -> torch.Tensor:
    """h <- (1 - rho_u) h + rho_u * (present (omega_x + (1 - omega_x) click) e + omega_o * elsewhere).

    Boredom builds from what was shown (omega_x), more from what was consumed, and from what the
    person watches off the platform (``elsewhere``, their profile), and fades at their own rate, also
    while away (``present`` 0: nothing shown). ``rate``: a float or ``[...]`` per person (0 freezes)."""
    if isinstance(rate, torch.Tensor):
        rate = rate.unsqueeze(-1)
    seen = (present * (exposure + (1.0 - exposure) * click)).unsqueeze(-1)
    target = torch.addcmul(elsewhere_weight * elsewhere, seen, content)
    return torch.lerp(boredom, target, rate)


def update_budget(budget: torch.Tensor, click: torch.Tensor, satisfied: torch.Tensor, gain: float, sensitivity) -> torch.Tensor:
    """beta <- beta - 1 + kappa * sigma_u * click * (2 sat - 1): each step costs one unit; a satisfying
    click gives time back, a disappointing one costs more."""
    return budget - 1.0 + gain * sensitivity * click * (2.0 * satisfied - 1.0)


def update_trust(trust: torch.Tensor, click: torch.Tensor, satisfied: torch.Tensor, shown: torch.Tensor,
                 loss: float, recovery: float) -> torch.Tensor:
    """T <- clip(T + eps_T (1 - T) - delta * shown * click * (1 - sat), 0, 1): sponsored disappointments
    teach people to distrust sponsored items; trust comes back slowly."""
    return (trust + recovery * (1.0 - trust) - loss * shown * click * (1.0 - satisfied)).clamp(0.0, 1.0)


def choice_probabilities(attraction: torch.Tensor, looked: torch.Tensor, model: str, position_bias: float) -> torch.Tensor:
    """``[..., S]`` the probability that the person chooses each slot of a slate (the rest: none).

    ``attraction [..., S]``: P(click) of each slot's item were it shown alone (0 for an empty slot);
    ``looked [..., S]`` (float 0/1 or a probability): which slots the person looks at.
    'cascade' and 'pbm': down the slate, the first looked-at item that appeals,
    ``P_k = l_k a_k prod_{j<k} (1 - l_j a_j)``; 'mnl': ``P_k = w_k / (1 + sum_j w_j)`` with
    ``w_k = l_k theta^k a_k / (1 - a_k)`` (the odds of clicking it alone, weighted by position; not clicking
    has weight 1, so one item alone is clicked with probability ``a``)."""
    x = attraction * looked
    if model == "mnl":
        pos = torch.arange(x.shape[-1], device=x.device, dtype=x.dtype)
        w = x * position_bias**pos / (1.0 - attraction).clamp_min(1e-6)
        return w / (1.0 + w.sum(-1, keepdim=True))
    before = torch.cumprod(1.0 - x, -1)
    return x * torch.cat([torch.ones_like(x[..., :1]), before[..., :-1]], -1)


class UserModel:
    """The simulated people as one object: the core, the reference, the oracles, the planner and
    ``evaluate`` call these methods, so people are defined once.

    Each method gets the :class:`~recsim_marl.EnvConfig` (for its constants), the person's
    :class:`Traits` where they matter, and batched tensors. To simulate other people, subclass and
    override what changes, then pass an instance whole (``make_vec(user_model=MyModel())``) or register
    it by name (``USER_MODELS["mine"] = MyModel()``, then ``user_model="mine"``). Keep the methods pure
    tensor functions: no host reads, no state, no random numbers (the core draws the click from
    ``click_probability`` and the satisfaction from ``satisfaction``).
    """

    def sample_traits(self, c, normal: torch.Tensor, activity: torch.Tensor | float = 1.0) -> torch.Tensor:
        """``[..., U, len(TRAITS)]`` traits from standard normals of the same shape (drawn by the core);
        ``activity`` ``[U]`` scales each person's return rate (the catalogue's data, 1 without it)."""
        s = c.trait_spread
        n = normal.unbind(-1)
        return torch.stack([
            c.click_bias + c.click_bias_spread * n[0],
            c.click_appeal * torch.exp(s * n[1]),
            (c.boredom_rate * torch.exp(s * n[2])).clamp(0.0, 1.0),
            c.boredom_weight * torch.exp(s * n[3]),
            torch.exp(s * n[4]),
            c.initial_budget * torch.exp(s * n[5]),
            c.return_rate * activity * torch.exp(c.return_rate_spread * n[6]),
        ], dim=-1)

    def population(self, c) -> Traits:
        """The median person's traits (what a policy that cannot see the person may assume)."""
        return Traits(click_bias=c.click_bias, appeal_weight=c.click_appeal, boredom_rate=c.boredom_rate,
                      boredom_weight=c.boredom_weight, sensitivity=1.0, budget=c.initial_budget,
                      return_rate=c.return_rate)

    def affinity(self, c, tr: Traits, interest, boredom, content):
        """``[B, U]`` how much each person likes the recommended item now."""
        return affinity(interest, boredom, content, tr.boredom_weight)

    def click_probability(self, c, tr: Traits, aff, appeal, shown, trust):
        """``[B, U]`` P(click); ``shown`` is the promotion level shown with the item / (L - 1)."""
        return click_probability(aff, appeal, shown, trust, c.click_temperature, tr.click_bias, tr.appeal_weight,
                                 c.click_promotion, c.click_distrust)

    def satisfaction(self, c, tr: Traits, aff, quality):
        """``[B, U]`` q in (0, 1): the probability that a click satisfies."""
        return satisfaction(aff, quality, c.satisfaction_temperature, c.satisfaction_quality, c.satisfaction_bias)

    def engagement(self, c, click, satisfied, length):
        """``[B, U]`` the user agent's reward (with ``user_reward="engagement"``)."""
        return engagement(click, satisfied, length, c.disappointed_dwell)

    def drift_interest(self, c, tr: Traits, interest, content, click, satisfied):
        """``[B, U, D]`` the next true interest (unit rows)."""
        return drift_interest(interest, content, click, satisfied, c.drift_rate)

    def update_boredom(self, c, tr: Traits, boredom, content, click, elsewhere, present=None, alive=None):
        """``[B, U, D]`` the next boredom; ``elsewhere`` ``[U, D]`` is what each person watches off the
        platform; ``present`` ``[B, U]`` (float 0/1): shown an item this step; people not ``alive``
        (gone for good) keep theirs."""
        rate = tr.boredom_rate if alive is None else tr.boredom_rate * alive
        return update_boredom(boredom, content, click, elsewhere, rate, c.boredom_exposure, c.boredom_elsewhere,
                              1.0 if present is None else present)

    def update_memory(self, c, tr: Traits, memory, click, satisfied):
        """``[B, U]`` satisfaction memory m <- (1 - mu) m + mu sigma_u click (2 sat - 1): recent experience."""
        return torch.lerp(memory, tr.sensitivity * click * (2.0 * satisfied - 1.0), c.memory_rate)

    def return_probability(self, c, tr: Traits, memory, trust):
        """``[B, U]`` P(a person who is away comes back this step) = 1 - exp(-lambda_u exp(b_m m + b_T (T - 1)))."""
        hazard = tr.return_rate * torch.exp(c.return_satisfaction * memory + c.return_trust * (trust - 1.0))
        return 1.0 - torch.exp(-hazard)

    def update_budget(self, c, tr: Traits, budget, click, satisfied):
        """``[B, U]`` the next budget (a person leaves when it reaches 0)."""
        return update_budget(budget, click, satisfied, c.budget_gain, tr.sensitivity)

    def update_trust(self, c, tr: Traits, trust, click, satisfied, shown):
        """``[B, U]`` the next trust in sponsored items."""
        return update_trust(trust, click, satisfied, shown, c.trust_loss, c.trust_recovery)

    def look(self, c, shown: torch.Tensor, draw: torch.Tensor) -> torch.Tensor:
        """``[B, U, S]`` bool: the slots of a slate the person looks at, from uniforms ``draw [B, U, S]``:
        every slot showing an item (``shown``), under 'pbm' slot k only with probability theta^k."""
        if c.choice_model != "pbm":
            return shown
        pos = torch.arange(shown.shape[-1], device=shown.device, dtype=draw.dtype)
        return shown & (draw < c.position_bias**pos)

    def choose(self, c, attraction: torch.Tensor, looked: torch.Tensor, draw: torch.Tensor):
        """The slot each person chooses, ``[B, U]`` long in 0..S (S: none), and the slots they looked at,
        ``[B, U, S]`` bool: the first slot whose cumulative choice probability (:func:`choice_probabilities`)
        exceeds the uniform ``draw [B, U]``. Looking down a slate stops at the item chosen ('cascade',
        'pbm'); a logit choice looks at the whole slate."""
        p = choice_probabilities(attraction, looked.to(attraction.dtype), c.choice_model, c.position_bias)
        slot = (draw.unsqueeze(-1) >= p.cumsum(-1)).sum(-1)
        if c.choice_model != "mnl":
            pos = torch.arange(looked.shape[-1], device=looked.device)
            looked = looked & (pos <= slot.unsqueeze(-1))
        return slot, looked

    def look_time(self, c, looked: torch.Tensor) -> torch.Tensor:
        """``[B, U]`` the time budget spent looking at a slate beyond its first item: ``look_cost`` per
        further item looked at."""
        return c.look_cost * (looked.to(torch.float32).sum(-1) - 1.0).clamp_min(0.0)

    def update_boredom_slate(self, c, tr: Traits, boredom, content, looked, click, chosen, elsewhere, present, alive):
        """``[B, U, D]`` the next boredom after a slate: each item looked at (``content [B, U, S, D]``,
        ``looked [B, U, S]``) adds ``omega_x`` of its vector, the one consumed (``chosen [B, U, D]``, when
        ``click``) the rest; as :meth:`update_boredom` for one item."""
        seen = c.boredom_exposure * (looked.to(content.dtype).unsqueeze(-1) * content).sum(-2)
        seen = seen + ((1.0 - c.boredom_exposure) * click).unsqueeze(-1) * chosen
        return update_boredom(boredom, seen, torch.ones_like(click), elsewhere, tr.boredom_rate * alive, 1.0,
                              c.boredom_elsewhere, present)

    def expected_reward(self, c, tr: Traits, aff, quality, appeal, shown, trust, length):
        """The user agent's expected reward now: P(click) * length * (q + lambda_d (1 - q)) for engagement,
        P(click) for ``user_reward="click"``."""
        p = self.click_probability(c, tr, aff, appeal, shown, trust)
        if c.user_reward != "engagement":
            return p
        return self.engagement(c, p, self.satisfaction(c, tr, aff, quality), length)


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

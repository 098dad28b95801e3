"""Scripted reference policies (all implement :class:`agents.policy.Policy`).

| policy | group | what it does |
|---|---|---|
| RandomPolicy | any | uniform over allowed actions |
| GreedyPolicy | users | argmax relevance <p_hat, e> (myopic, what a plain ranker does) |
| PopularityPolicy | users | the candidate with the highest click moving average |
| ModelBasedPolicy | users | one step ahead with the world's own formulas on what the platform observes |
| MemoryPolicy | users | model-based on its own interest estimate, learned online from each person's clicks (rates tuned by :func:`tune_memory`) |
| LinearRankerPolicy | users | a weighted sum of each candidate's observed features (weights tuned by :func:`tune_linear_ranker`) |
| MyopicOraclePolicy | users | **privileged**: reads hidden interest and boredom, maximises expected engagement now |
| FarsightedOraclePolicy | users | **privileged**: the myopic oracle's value plus what a pick does to budget and memory |
| RolloutPlannerPolicy | users | **privileged**: simulates each candidate's future on the true model (planning reference) |
| LeastRelevantPolicy | users | the least relevant candidate (a worst case) |
| OpenLoopPolicy | users | one candidate position every step, seeing nothing but time (SMACv2's open-loop floor) |
| FixedLevelPolicy | items | always the same promotion level (clamped to what funds cover) |
| PromoteWhenShownPolicy | items | promote (at a given level) only after being recommended last step |

:func:`scripted_policy` builds one by the name the learners' ``--users-policy`` / ``--items-policy`` take.
"""

from __future__ import annotations

import functools

import torch

import recsim_marl
from recsim_marl import rng
from recsim_marl.core import VecEnv, observation_layout
from recsim_marl.core.observation import fields_of
from recsim_marl.core.state import State
from recsim_marl.core.world import take
from recsim_marl.models.user import Traits
from recsim_marl.protocol import TUNING_SEED, VALIDATION_SEED


def slate_choice(config, attraction: torch.Tensor) -> torch.Tensor:
    """``[..., S]`` the probability that a person chooses each slot of a slate whose items would each be
    clicked alone with probability ``attraction [..., S]``, under the world's choice model
    (:func:`recsim_marl.models.user.choice_probabilities`; the position-based model's looks in expectation)."""
    from recsim_marl.models.user import choice_probabilities

    n = attraction.shape[-1]
    pos = torch.arange(n, dtype=attraction.dtype, device=attraction.device)
    looked = config.position_bias ** pos if config.choice_model == "pbm" else torch.ones_like(pos)
    return choice_probabilities(attraction, looked, config.choice_model, config.position_bias)


def slate_by_choice_model(config, attraction: torch.Tensor, value: torch.Tensor, mask=None) -> torch.Tensor:
    """``[B, N, S]`` a slate built slot by slot, each slot taking the candidate that most raises the slate's
    expected reward under the world's choice model (:func:`slate_choice`), from each candidate's click
    probability alone ``attraction [B, N, K]`` and expected reward alone ``value [B, N, K]`` (so its reward
    given a click is ``value / attraction``). Greedy, as SlateQ's greedy slate optimisation."""
    return choice_model_slate(config, attraction, value / attraction.clamp_min(1e-6), mask)[0]


def choice_model_slate(config, attraction: torch.Tensor, reward: torch.Tensor, mask=None, scale: float | None = None,
                       gen: torch.Generator | None = None, slate: torch.Tensor | None = None):
    """A slate built slot by slot under the world's choice model, and its log-probability: ``(slate [B, N, S],
    log P(slate) [B, N], entropy of the first slot's choice [B, N])``.

    Slot ``k``'s candidates are scored by the slate's expected reward with each of them in slot ``k`` after
    the slots already filled, ``gain(i) = sum_j P(j chosen | slate) reward_j`` (:func:`slate_choice` of the
    candidates' click probabilities alone ``attraction [B, N, K]``; ``reward [B, N, K]``: what a candidate is
    worth once chosen); with one slot, ``attraction * reward``. Without ``scale`` each slot takes the best
    gain (SlateQ's greedy slate optimisation; log-probabilities 0). With ``scale`` a slot is drawn from the
    softmax of ``scale * gain`` over the candidates not yet taken (``gen``: Gumbel-max with that generator;
    none: each slot its most likely candidate), or, given ``slate``, that slate's log-probability is read (a
    sequential slate policy, as a stochastic policy-gradient learner needs). Masked candidates come only
    once the allowed ones run out, so a slate's S candidates stay distinct."""
    s = config.slate_size
    taken = torch.zeros_like(attraction, dtype=torch.bool)
    allowed = torch.ones_like(taken) if mask is None else mask
    slots, logp, entropy = [], attraction.new_zeros(attraction.shape[:-1]), None
    a_sl = attraction.new_zeros(*attraction.shape[:-1], 0)
    r_sl = attraction.new_zeros(*attraction.shape[:-1], 0)
    for k in range(s):
        if s == 1:
            gain = attraction * reward
        else:  # every candidate in slot k: [B, N, K, k + 1]
            a_try = torch.cat([a_sl.unsqueeze(-2).expand(*attraction.shape, k), attraction.unsqueeze(-1)], -1)
            r_try = torch.cat([r_sl.unsqueeze(-2).expand(*attraction.shape, k), reward.unsqueeze(-1)], -1)
            gain = (slate_choice(config, a_try) * r_try).sum(-1)
        score = (gain if scale is None else scale * gain).masked_fill(~allowed, -1e8).masked_fill(taken, -1e9)
        if slate is not None:
            pick = slate[..., k:k + 1]
        elif gen is not None and scale is not None:
            u = torch.rand(score.shape, generator=gen, device=score.device).clamp_(1e-9, 1 - 1e-9)
            pick = (score - torch.log(-torch.log(u))).argmax(-1, keepdim=True)
        else:
            pick = score.argmax(-1, keepdim=True)
        if scale is not None:
            log_p = torch.log_softmax(score, -1)
            logp = logp + log_p.gather(-1, pick).squeeze(-1)
            if k == 0:
                entropy = -(log_p.exp() * log_p.clamp_min(-1e4)).sum(-1)
        slots.append(pick)
        taken = taken.scatter(-1, pick, True)
        a_sl = torch.cat([a_sl, attraction.gather(-1, pick)], -1)
        r_sl = torch.cat([r_sl, reward.gather(-1, pick)], -1)
    return torch.cat(slots, -1), logp, (torch.zeros_like(logp) if entropy is None else entropy)


def top(scores: torch.Tensor, slate_size: int = 1) -> torch.Tensor:
    """What a policy that scores candidates ``[B, N, K]`` recommends: the best one ``[B, N]``, or with
    slates (``slate_size`` S > 1) the S best, best on top, ``[B, N, S]``."""
    return scores.argmax(-1) if slate_size == 1 else scores.topk(slate_size, -1).indices


class RandomPolicy:
    """Uniform over the mask's allowed actions (all actions without a mask). Seeded, own generator.
    ``slate_size`` S > 1: S distinct allowed candidates in a uniformly random order (where fewer than S are
    allowed, as for a person away, the allowed ones first and disallowed ones after them, which the env
    ignores)."""

    def __init__(self, num_actions: int, seed: int = 0, device: str | torch.device = "cpu", slate_size: int = 1):
        self.num_actions, self.slate_size = num_actions, slate_size
        self.gen = torch.Generator(device=device).manual_seed(seed)

    def act(self, obs, mask):
        b, n = obs.shape[:2]
        scores = torch.rand(b, n, self.num_actions, generator=self.gen, device=self.gen.device).to(obs.device)
        if mask is not None:
            scores = scores.masked_fill(~mask, -1.0)
        return top(scores, self.slate_size)


class _FieldArgmax:
    field = ""

    def __init__(self, config):
        self.slice = observation_layout(config)["users"][self.field]
        self.slate_size = config.slate_size

    def act(self, obs, mask):
        return top(obs[..., self.slice], self.slate_size)


class GreedyPolicy(_FieldArgmax):
    """Recommend the most relevant candidate by the platform's estimate."""

    field = "candidate_relevance"


class PopularityPolicy(_FieldArgmax):
    """Recommend the most clicked candidate lately."""

    field = "candidate_popularity"


class _Bound:
    """A policy that reads the env it is bound to (``evaluate`` binds every policy with ``bind``)."""

    def __init__(self, config):
        self.config = config
        self.venv = None

    def bind(self, venv) -> None:
        self.venv = venv

    def _env(self):
        if self.venv is None:
            raise RuntimeError(f"{type(self).__name__} reads the env it acts in: call policy.bind(venv) first "
                               "(agents.policy.evaluate does)")
        return self.venv


class ModelBasedPolicy(_Bound):
    """One step ahead with the world's own formulas (the env's user model) applied to the observation:
    affinity from the platform's estimate and the person's click history in place of the hidden
    interest and boredom, the noisy rating in place of quality, the promotion shown, each candidate's
    length, and the median person's traits (``UserModel.population``: it cannot see how this person
    differs, nor an item's appeal, nor trust, so it assumes average appeal and full trust); picks the
    candidate with the highest expected reward now (with slates, :func:`slate_by_choice_model`: the slate
    of highest expected reward under the world's choice model, slot by slot). It reads nothing but the
    observation (it is bound to the env only to use the env's user model). Not privileged. The strongest
    simple myopic policy a learner must beat. ``user_model``: the formulas to use without binding to an
    env (:func:`recsim_marl.models.user.resolve_user_model` of the config's ``user_model``, as SlateQ's
    network estimates its choice probabilities); by default the bound env's."""

    def __init__(self, config, user_model=None):
        super().__init__(config)
        self.lay = observation_layout(config)["users"]
        self.user_model = user_model

    def _affinity(self, obs):
        """The user model, the median person and ``[B, U, K]`` affinities from what the platform observes."""
        c, lay = self.config, self.lay
        m = self.user_model if self.user_model is not None else self._env().user_model
        pop = m.population(c)
        aff = m.affinity(c, pop, lay.read(obs, "estimate").unsqueeze(-2), lay.read(obs, "history").unsqueeze(-2),
                         lay.read(obs, "candidate_content"))
        return m, pop, aff

    def values(self, obs) -> torch.Tensor:
        """``[B, U, K]`` the expected reward now of each candidate, as far as the platform can tell, in
        units of the catalogue's longest item (the observed length is a fraction of it)."""
        m, pop, aff = self._affinity(obs)
        zero, lay = torch.zeros_like(aff), self.lay
        return m.expected_reward(self.config, pop, aff, lay.read(obs, "candidate_rating"), zero,
                                 lay.read(obs, "candidate_promotion"), zero + 1.0, lay.read(obs, "candidate_length"))

    def attraction(self, obs) -> torch.Tensor:
        """``[B, U, K]`` each candidate's click probability were it shown alone (the same estimate)."""
        m, pop, aff = self._affinity(obs)
        zero = torch.zeros_like(aff)
        return m.click_probability(self.config, pop, aff, zero, self.lay.read(obs, "candidate_promotion"), zero + 1.0)

    def act(self, obs, mask):
        if self.config.slate_size == 1:
            return self.values(obs).argmax(-1)
        return slate_by_choice_model(self.config, self.attraction(obs), self.values(obs), mask)


def observed_feedback(config, lay, obs, rate0, watch0, history0):
    """What became of each person's last recommendation, read from the observation alone: ``(click [B, U],
    satisfied [B, U], clicked [B, U, D])``, from the change of the person's click rate, watch rate and click
    history (moving averages at ``history_rate``) since the values ``rate0``, ``watch0``, ``history0`` of the
    step before: whether they clicked, whether they watched enough to be satisfied (more than halfway
    between a disappointed dwell and the whole item), and the clicked item's content (0 without a click)."""
    r = config.history_rate
    click = ((lay.read(obs, "click_rate")[..., 0] - (1 - r) * rate0) / r > 0.5).float()
    watched = (lay.read(obs, "watch_rate")[..., 0] - (1 - r) * watch0) / r
    satisfied = click * (watched > (1 + config.disappointed_dwell) / 2).float()
    return click, satisfied, (lay.read(obs, "history") - (1 - r) * history0) / r


def online_interest(interest, shown, choice, q, acted, click, satisfied, clicked, click_rate, satisfaction_rate):
    """One step of an online estimate of each person's interest ``interest [B, U, D]`` (unit vectors): a
    logistic regression's gradient step on the last slate ``shown [B, U, S, D]`` (its items' content), given
    the chance of choosing each slot under the estimate ``choice [B, U, S]`` and the satisfaction expected of
    each ``q [B, U, S]``, what the person did (:func:`observed_feedback`; ``acted [B, U]`` 1 where they were
    shown the slate) and the rates: ``+ click_rate sum_s (y_s - P_s) e_s + satisfaction_rate y_s (sat - q_s)
    e_s``, renormalised (``y_s`` 1 for the clicked slot: the one whose content the click history took)."""
    slot = (shown @ clicked.unsqueeze(-1)).squeeze(-1).argmax(-1, keepdim=True)
    y = torch.zeros_like(choice).scatter(-1, slot, 1.0) * (click * acted).unsqueeze(-1)
    weight = click_rate * (y - choice) * acted.unsqueeze(-1) + satisfaction_rate * y * (satisfied.unsqueeze(-1) - q)
    return torch.nn.functional.normalize(interest + (weight.unsqueeze(-1) * shown).sum(-2), dim=-1)


def shown_slate(config, lay, obs, slate, attraction, q):
    """What :func:`online_interest` needs to remember of a recommended ``slate [B, U, S]``: ``(content [B, U,
    S, D], choice [B, U, S], q [B, U, S], acted [B, U])``: its items' content, the chance of choosing each
    slot under the world's choice model (:func:`slate_choice`) from each candidate's estimated click
    probability ``attraction [B, U, K]``, their expected satisfaction ``q [B, U, K]``, and 1 where the person
    is present to be shown it."""
    content = lay.read(obs, "candidate_content")
    a = attraction.gather(-1, slate)
    choice = a if config.slate_size == 1 else slate_choice(config, a)
    shown = content.gather(-2, slate.unsqueeze(-1).expand(*slate.shape, content.shape[-1]))
    return shown, choice, q.gather(-1, slate), lay.read(obs, "present")[..., 0]


class MemoryPolicy(ModelBasedPolicy):
    """Keeps its own estimate of each person's interest (an online logistic regression of the person's
    clicks, at rate ``click_rate``, and of their satisfaction given a click, at ``satisfaction_rate``, on
    the recommended items' content), started from the platform's estimate at the episode's start; picks
    the candidate with the highest ``expected reward + future_weight P(click)(2q - 1)`` under that
    estimate, the median person's traits and the observed rating (with slates, the slate built slot by
    slot for that value under the world's choice model, :func:`slate_by_choice_model`). What a platform's
    online user model does between retrainings. Reads only the observation (not privileged): the click
    and the watched share of its last recommendation come from the change of the person's click rate and
    watch rate (both moving averages at ``history_rate``), and which slot was clicked from the change of
    the click history (a moving average of clicked content at the same rate). Its rates and
    ``future_weight`` come from :func:`tune_memory` on tuning seeds; each may be one number per world of the
    batch (a ``[B]`` tensor: the tuner plays every setting at once).

    The click update is the gradient of the choice's log-likelihood, ``sum_s (y_s - P_s) e_s`` over the
    slots (``y_s`` 1 for the clicked slot, ``P_s`` the chance of choosing it under the estimate): with one
    item, ``(click - P(click)) e``."""

    def __init__(self, config, click_rate=0.1, satisfaction_rate=0.1, future_weight=0.5, user_model=None):
        super().__init__(config, user_model)
        settings = []
        for name, v in (("click_rate", click_rate), ("satisfaction_rate", satisfaction_rate),
                        ("future_weight", future_weight)):
            t = torch.as_tensor(v, dtype=torch.float32)
            if t.dim() > 1 or not bool((torch.isfinite(t) & (t >= 0)).all()):
                raise ValueError(f"memory policy: {name} must be a number >= 0 (or one per world), got {v!r}")
            settings.append(t.view(-1, 1, 1) if t.dim() == 1 else t)  # one per world: [B, 1, 1]
        self.click_rate, self.satisfaction_rate, self.future_weight = settings
        if config.history_rate <= 0:
            raise ValueError("the memory policy reads each click from the change of the person's click rate, a "
                             "moving average at history_rate: it needs history_rate > 0, got 0")
        if config.ad_load > 0:
            raise ValueError(f"ad_load={config.ad_load}: sponsored placements replace some of what the memory "
                             "policy recommends, and it would credit their clicks to its own picks; use ad_load=0")
        self.p = None

    def _learn(self, obs) -> None:
        lay, c = self.lay, self.config
        rate, watch = lay.read(obs, "click_rate")[..., 0], lay.read(obs, "watch_rate")[..., 0]
        history, t = lay.read(obs, "history"), lay.read(obs, "progress")[..., 0]
        per_world = [v.shape[0] for v in (self.click_rate, self.satisfaction_rate, self.future_weight) if v.dim()]
        if any(n != t.shape[0] for n in per_world):
            raise ValueError(f"the memory policy was given settings for {per_world[0]} worlds and plays a batch of "
                             f"{t.shape[0]}: give one number per setting, or one per world of the batch")
        if self.p is None or self.p.shape[:-1] != t.shape:
            self.p = lay.read(obs, "estimate").clone()  # a new batch: start from the platform's estimate
        else:
            click, satisfied, clicked = observed_feedback(c, lay, obs, self.rate, self.watch, self.history)
            p = online_interest(self.p, self.content, self.choice, self.q, self.acted, click, satisfied, clicked,
                                self.click_rate.to(obs.device), self.satisfaction_rate.to(obs.device))
            # an episode's first step (each world restarts on its own): the platform's estimate
            self.p = torch.where((t <= 0)[..., None], lay.read(obs, "estimate"), p)
        self.rate, self.watch, self.history = rate, watch, history

    def estimates(self, obs, interest: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(P(click), q, expected reward now)``, each ``[B, U, K]``, of every candidate under the world's
        formulas with ``interest [B, U, D]`` in place of the person's hidden interest, the median person's
        traits, average appeal, full trust and the observed rating."""
        c, lay = self.config, self.lay
        m = self.user_model if self.user_model is not None else self._env().user_model
        median = m.population(c)
        aff = m.affinity(c, median, interest.unsqueeze(-2), lay.read(obs, "history").unsqueeze(-2),
                         lay.read(obs, "candidate_content"))
        zero = torch.zeros_like(aff)
        rating, promotion = lay.read(obs, "candidate_rating"), lay.read(obs, "candidate_promotion")
        p = m.click_probability(c, median, aff, zero, promotion, zero + 1.0)
        q = m.satisfaction(c, median, aff, rating)
        now = m.expected_reward(c, median, aff, rating, zero, promotion, zero + 1.0, lay.read(obs, "candidate_length"))
        return p, q, now

    def act(self, obs, mask):
        self._learn(obs)
        c, lay = self.config, self.lay
        p, q, now = self.estimates(obs, self.p)
        value = now + self.future_weight.to(p.device) * p * (2 * q - 1)
        slate = value.argmax(-1, keepdim=True) if c.slate_size == 1 else self.build_slate(p, value, mask)
        self.content, self.choice, self.q, self.acted = shown_slate(c, lay, obs, slate, p, q)
        return slate.squeeze(-1) if c.slate_size == 1 else slate

    def build_slate(self, p, value, mask) -> torch.Tensor:
        """``[B, U, S]`` the slate for each candidate's click probability ``p`` and value ``value`` (each
        ``[B, U, K]``): built slot by slot under the world's choice model (:func:`slate_by_choice_model`)."""
        return slate_by_choice_model(self.config, p, value, mask)


def ranker_features(config) -> tuple[str, ...]:
    """What the linear ranker weighs: every per-candidate number of the user observation of worlds of
    ``config`` (the table's ``affinity`` and ``candidate`` fields), relevance first."""
    return fields_of("users", "affinity", "candidate", config=config)


class LinearRankerPolicy:
    """Recommend the candidate with the highest ``sum_f w_f x_f`` over its observed features
    :func:`ranker_features` (relevance, familiarity, rating, promotion, popularity, click-through rate,
    length, completion; and each candidate's age where items change): a learning-to-rank model's
    linear scorer, what a production ranker starts from. Reads only the observation. Its weights come from :func:`tune_linear_ranker` on tuning seeds.

    weights: one number per feature (a dict by field name, missing ones 0, or a sequence in
    :func:`ranker_features` order), or a ``[B, F]`` tensor that gives each world of a batch its own
    weights (the tuner evaluates a population at once).
    """

    def __init__(self, config, weights):
        self.config = config
        self.lay = observation_layout(config)["users"]
        self.features = features = ranker_features(config)
        if isinstance(weights, dict):
            unknown = set(weights) - set(features)
            if unknown:
                raise ValueError(f"unknown ranker features {sorted(unknown)}; the features are {features}")
            weights = [float(weights.get(f, 0.0)) for f in features]
        w = torch.as_tensor(weights, dtype=torch.float32)
        if w.shape[-1] != len(features) or w.dim() not in (1, 2) or not bool(torch.isfinite(w).all()):
            raise ValueError(f"the linear ranker needs {len(features)} finite weights per world "
                             f"({features}), got shape {tuple(w.shape)}")
        self.weights = w

    def scores(self, obs) -> torch.Tensor:
        """``[B, U, K]`` each candidate's score."""
        x = torch.stack([self.lay.read(obs, f) for f in self.features], -1)  # [B, U, K, F]
        w = self.weights.to(obs.device)
        w = w if w.dim() == 1 else w[:, None, None, :]
        return (x * w).sum(-1)

    def act(self, obs, mask):
        return top(self.scores(obs), self.config.slate_size)

    def named_weights(self) -> dict[str, float]:
        if self.weights.dim() != 1:
            raise ValueError("a population of weights has no single set of named weights")
        return {f: round(float(w), 4) for f, w in zip(self.features, self.weights)}


def episode_returns(config, users_policy, items_policy, seeds: torch.Tensor, group: str = "users") -> torch.Tensor:
    """``[B]`` each world's mean return per agent of ``group`` over one episode (users: per person; items:
    each creator's profit), world ``b`` seeded ``seeds[b]`` (no metrics beyond the return: what a tuner
    and the protocol need, fast)."""
    venv = VecEnv(config, int(seeds.shape[0]), validate=False)
    obs = venv.reset(seed=seeds.tolist())
    for p in (users_policy, items_policy):
        if hasattr(p, "bind"):
            p.bind(venv)
    done = torch.zeros(seeds.shape[0], dtype=torch.bool)
    out = torch.zeros(seeds.shape[0])
    while not bool(done.all()):
        acts = {"users": users_policy.act(obs["users"], obs["action_mask"]["users"]),
                "items": items_policy.act(obs["items"], obs["action_mask"]["items"])}
        obs, _, _, _, info = venv.step(acts)
        newly = info["done"] & ~done
        out = torch.where(newly, info["episode"]["user_return" if group == "users" else "item_return"], out)
        done |= info["done"]
    return out


def tuning_seeds(seed: int, episodes: int) -> torch.Tensor:
    """``[episodes]`` the tuning seeds ``seed ..``: a tuner plays only these, never a validation or evaluation
    seed (:mod:`recsim_marl.protocol`), and says so when asked to."""
    if seed < 0 or seed + episodes > VALIDATION_SEED:
        raise ValueError(f"tuning seeds {seed}..{seed + episodes - 1} reach the validation seeds ({VALIDATION_SEED} and "
                         f"up) or below 0: tune on seeds in 0..{VALIDATION_SEED - 1} (TUNING_SEED = {TUNING_SEED})")
    return torch.arange(seed, seed + episodes)


def tune_linear_ranker(config, episodes: int = 16, generations: int = 12, population: int = 24,
                       elite: int = 6, seed: int = TUNING_SEED, items_policy=None,
                       progress: bool = True) -> dict:
    """Weights of :class:`LinearRankerPolicy` tuned by the cross-entropy method on the tuning seeds
    ``seed .. seed + episodes - 1`` (never on evaluation seeds; :mod:`recsim_marl.protocol`).

    The relevance weight is fixed at 1 (the ranking is unchanged by a positive scale), the others start
    at 0 with std 1. Each generation draws ``population`` weight vectors (the current mean among them)
    and plays each on the same ``episodes`` seeds (common random numbers, so they are compared on the
    same people and luck); the mean and std of the ``elite`` best by mean return become the next
    sampling distribution. Returns ``{"weights": {feature: w}, "tuning_return": mean return of the chosen
    weights on the tuning seeds, "history": [best mean return per generation], ...}``; the chosen weights
    are the best mean seen in any generation.
    """
    config = recsim_marl.make_config(config) if isinstance(config, str) else config
    if min(episodes, generations, population, elite) < 1 or elite > population:
        raise ValueError(f"episodes={episodes}, generations={generations}, population={population} must be >= 1 "
                         f"and 1 <= elite={elite} <= population")
    items_policy = FixedLevelPolicy(0) if items_policy is None else items_policy
    f = len(ranker_features(config))
    gen = torch.Generator().manual_seed(seed)
    mean, std = torch.zeros(f), torch.ones(f)
    mean[0], std[0] = 1.0, 0.0  # relevance: the scale of the scores
    seeds = tuning_seeds(seed, episodes).repeat(population)  # world j * episodes + e: candidate j, seed e
    best_w, best_r, history = mean.clone(), -float("inf"), []
    for g in range(generations):
        pop = mean + std * torch.randn(population, f, generator=gen)
        pop[0] = mean  # the current mean is always tried, so the best seen is never lost to sampling
        ret = episode_returns(config, LinearRankerPolicy(config, pop.repeat_interleave(episodes, 0)), items_policy,
                              seeds).view(population, episodes).mean(1)
        order = ret.argsort(descending=True)
        if float(ret[order[0]]) > best_r:
            best_r, best_w = float(ret[order[0]]), pop[order[0]].clone()
        history.append(float(ret[order[0]]))
        top = pop[order[:elite]]
        mean, std = top.mean(0), top.std(0, unbiased=False) + 0.05 * (0.9**g)  # a little noise keeps exploring
        mean[0], std[0] = 1.0, 0.0
        if progress:
            print(f"  linear ranker, {config.scenario}: generation {g + 1}/{generations}, best mean return "
                  f"{history[-1]:.2f} on {episodes} tuning seeds", flush=True)
    ranker = LinearRankerPolicy(config, best_w)
    return {"weights": ranker.named_weights(), "tuning_return": best_r, "history": history,
            "seeds": [seed, seed + episodes - 1], "episodes": episodes, "generations": generations,
            "population": population, "elite": elite}


class MyopicOraclePolicy(_Bound):
    """PRIVILEGED myopic reference: reads the hidden interest, boredom, trust and traits of the env it is
    bound to, and the items' appeal, and picks the candidate with the highest expected reward now
    (``UserModel.expected_reward``). It looks one step ahead only, so it is no ceiling: a policy that
    plans can beat it (:class:`RolloutPlannerPolicy`). Not available to a real platform."""

    privileged = True

    def truth(self) -> dict:
        """The true, hidden inputs of the user model for every candidate of every person (``[B, U, K]``
        each; traits with a candidate axis)."""
        venv, c = self._env(), self.config
        s, w = venv.current, venv.catalogue
        tr = Traits.of(s.traits).per_candidate()
        aff = self.true_affinity(tr)
        z = take(w.quality, s.candidates)
        shown = s.promotion.gather(1, s.candidates.flatten(1)).view_as(z).to(z.dtype) / (c.num_levels - 1)
        return dict(tr=tr, aff=aff, quality=z, appeal=take(w.appeal, s.candidates), shown=shown,
                    trust=s.trust.unsqueeze(-1), length=take(w.length, s.candidates))

    def true_affinity(self, tr: Traits) -> torch.Tensor:
        """``[B, U, K]`` each candidate's affinity from the person's true interest and boredom, weighed with
        the traits ``tr`` (per candidate)."""
        venv = self._env()
        s = venv.current
        return venv.user_model.affinity(self.config, tr, s.interest.unsqueeze(2), s.boredom.unsqueeze(2),
                                        take(venv.catalogue.content, s.candidates))

    def values(self) -> torch.Tensor:
        """``[B, U, K]`` the true expected reward now of each candidate of each person."""
        x = self.truth()
        return self._env().user_model.expected_reward(self.config, x["tr"], x["aff"], x["quality"], x["appeal"],
                                                      x["shown"], x["trust"], x["length"])

    def act(self, obs, mask):
        if self.config.slate_size == 1:
            return self.values().argmax(-1)
        x = self.truth()  # a slate: built slot by slot under the true choice model
        p = self._env().user_model.click_probability(self.config, x["tr"], x["aff"], x["appeal"], x["shown"], x["trust"])
        return slate_by_choice_model(self.config, p, self.values(), mask)


class FarsightedOraclePolicy(MyopicOraclePolicy):
    """PRIVILEGED planning reference that reads what the myopic oracle reads and also weighs what a
    recommendation does to the person's future: expected reward now plus ``future_weight`` times the
    expected change of their budget and satisfaction memory, ``P(click) sigma_u (2q - 1)`` (a satisfying
    click buys time in this visit and brings them back sooner; a disappointing one costs both; the
    constants ``budget_gain`` and ``memory_rate`` that scale those two changes are folded into the
    weight). One weight, set once on training seeds (1,000-1,007 of ``retention``, where 0.5, 1 and 2 were
    tried) and never tuned on the seeds the README reports."""

    privileged = True

    def __init__(self, config, future_weight: float = 1.0):
        super().__init__(config)
        self.future_weight = future_weight

    def values(self) -> torch.Tensor:
        x, c, m = self.truth(), self.config, self._env().user_model
        p = m.click_probability(c, x["tr"], x["aff"], x["appeal"], x["shown"], x["trust"])
        q = m.satisfaction(c, x["tr"], x["aff"], x["quality"])
        return super().values() + self.future_weight * p * x["tr"].sensitivity * (2.0 * q - 1.0)


class LeastRelevantPolicy(_FieldArgmax):
    """Recommend the candidate the platform thinks least relevant (a worst case for people)."""

    field = "candidate_relevance"

    def act(self, obs, mask):
        return top(-obs[..., self.slice], self.slate_size)


class OpenLoopPolicy:
    """The open-loop floor (SMACv2): an action that depends on nothing the agent observes but the time
    step. Here one candidate position for every person and step (position 0 is the platform's own first
    retrieved candidate), the best on tuning seeds (:func:`tune_open_loop`); with slates (``slate_size``
    S > 1) the S positions from it in the platform's order (``p, p + 1, ...``, wrapping round).
    ``position``: an int, or a ``[B]`` tensor giving each world its own (the tuner's population)."""

    def __init__(self, position, slate_size: int = 1, num_candidates: int | None = None):
        if slate_size > 1 and num_candidates is None:
            raise ValueError("an open-loop slate wraps round the candidates: pass num_candidates")
        self.position = torch.as_tensor(position, dtype=torch.long)
        self.slate_size, self.k = slate_size, num_candidates

    def act(self, obs, mask):
        b, n = obs.shape[:2]
        p = self.position.to(obs.device).reshape(-1, 1).expand(b, n)
        if self.slate_size == 1:
            return p.clone()
        return (p.unsqueeze(-1) + torch.arange(self.slate_size, device=obs.device)) % self.k


def tune_open_loop(config, episodes: int = 12, seed: int = TUNING_SEED, items_policy=None) -> dict:
    """The candidate position with the best mean return on the tuning seeds ``seed ..`` (every position
    tried on the same seeds; with slates, the slate from each position). Returns ``{"position": k,
    "tuning_return": ..., "returns": per position}``."""
    config = recsim_marl.make_config(config) if isinstance(config, str) else config
    items_policy = FixedLevelPolicy(0) if items_policy is None else items_policy
    k = config.num_candidates
    seeds = tuning_seeds(seed, episodes).repeat(k)
    policy = OpenLoopPolicy(torch.arange(k).repeat_interleave(episodes), config.slate_size, k)
    ret = episode_returns(config, policy, items_policy, seeds).view(k, episodes).mean(1)
    best = int(ret.argmax())
    return {"position": best, "tuning_return": float(ret[best]), "returns": [round(float(r), 4) for r in ret],
            "seeds": [seed, seed + episodes - 1]}


MEMORY_GRID = tuple((c, s, f) for c, s in ((0.05, 0.05), (0.1, 0.1), (0.2, 0.2), (0.1, 0.0), (0.0, 0.1), (0.05, 0.2))
                    for f in (0.0, 0.5, 1.0))
"""The memory policy's (click_rate, satisfaction_rate, future_weight) that :func:`tune_memory` tries."""


def tuning_budget(config) -> dict:
    """How much tuning a scenario gets: 16 weight vectors x 12 seeds a generation for worlds of up to
    65,536 person-item pairs (every scenario today; ``marketplace``: 64 x 1,024), 8 x 4 for bigger ones."""
    small = config.num_users * config.num_items <= 65_536
    return dict(episodes=12 if small else 4, population=16 if small else 8, elite=4 if small else 3, generations=10)


def tune_memory(config, episodes: int = 16, seed: int = TUNING_SEED, items_policy=None, grid=MEMORY_GRID) -> dict:
    """The :class:`MemoryPolicy` settings of ``grid`` with the best mean return on the tuning seeds ``seed ..``
    (every setting on the same seeds). Returns ``{"settings": [click_rate, satisfaction_rate, future_weight],
    "tuning_return": ..., "grid": {setting: return}, "seeds": [first, last]}``."""
    config = recsim_marl.make_config(config) if isinstance(config, str) else config
    items_policy = FixedLevelPolicy(0) if items_policy is None else items_policy
    g = torch.tensor(grid, dtype=torch.float32).repeat_interleave(episodes, 0)  # world j * episodes + e: setting j
    seeds = tuning_seeds(seed, episodes).repeat(len(grid))
    ret = episode_returns(config, MemoryPolicy(config, *g.unbind(-1)), items_policy, seeds).view(len(grid), -1).mean(1)
    best = int(ret.argmax())
    return {"settings": list(grid[best]), "tuning_return": float(ret[best]), "episodes": len(grid) * episodes,
            "grid": {str(tuple(s)): round(float(r), 4) for s, r in zip(grid, ret)}, "seeds": [seed, seed + episodes - 1]}

_PLANNER_STREAM = 101  # a purpose tag that no stream of the simulator uses


class RolloutPlannerPolicy(_Bound):
    """PRIVILEGED planning reference: for every person and candidate, simulate the future on the true
    model and recommend the candidate with the best mean return over the horizon.

    From a copy of the bound env's full state (``get_state``), each of the K candidates is tried by all
    people at once, followed by ``horizon - 1`` steps of :class:`MyopicOraclePolicy`, items keeping their
    current promotion levels; ``samples`` futures per candidate are averaged. Each step of a future
    counts the true *expected* reward of what was recommended (clicks are still drawn to move the
    state on), which removes the click's own noise from the comparison. The futures use seeds of
    their own (``2**40`` and up, hashed from the env's seed, step and sample number), so the planner does
    not see the real future's random draws; candidates share those seeds (common random numbers), so
    they are compared on the same luck. A rollout stops counting at the end of its episode. Costs
    ``K * samples`` copies of the batch stepped ``horizon`` times per decision."""

    privileged = True

    def __init__(self, config, horizon: int = 8, samples: int = 4, discount: float = 1.0):
        super().__init__(config)
        if horizon < 1 or samples < 1 or not 0 < discount <= 1:
            raise ValueError(f"horizon={horizon} and samples={samples} must be >= 1, discount={discount} in (0, 1]")
        if config.slate_size > 1:
            raise ValueError(f"the rollout planner tries one candidate at a time and recommends single items; "
                             f"slate_size={config.slate_size} would need a rollout per slate. Use slate_size=1, or "
                             f"the farsighted oracle* as the slate reference")
        self.horizon, self.samples, self.discount = horizon, samples, discount
        self.sim = None
        self.inner = MyopicOraclePolicy(config)

    def act(self, obs, mask):
        venv, c = self._env(), self.config
        k, m = c.num_candidates, self.samples
        s = venv.get_state()
        b = s.seed.shape[0]
        n = b * k * m  # copy (env, candidate, sample), sample fastest
        if self.sim is None or self.sim.num_envs != n or self.sim.device != venv.device or self.sim.config != venv.config:
            self.sim = VecEnv(venv.config, n, venv.device, validate=False)  # the futures of the world it acts in
            self.inner.bind(self.sim)
        rep = State(**{f: getattr(s, f).repeat_interleave(k * m, 0) for f in s.__dataclass_fields__})
        sample = torch.arange(m, device=venv.device).repeat(b * k)
        key = rng.stream_key(rep.seed, rep.episode, rep.t, _PLANNER_STREAM)  # 32 bits of (seed, episode, t)
        rep.seed = 2**40 + rng.mix32((key + sample) & 0xFFFFFFFF)
        self.sim.set_state(rep)
        first = torch.arange(k, device=venv.device).repeat_interleave(m).repeat(b)  # [n]
        users = first[:, None].expand(n, c.num_users).contiguous()
        items = rep.promotion.clone()
        total = torch.zeros(n, c.num_users, device=venv.device)
        live = torch.ones(n, dtype=torch.bool, device=venv.device)
        for h in range(self.horizon):
            now = self.inner.values()  # [n, U, K]
            if h > 0:
                users = now.argmax(-1)
            expected = now.gather(2, users.unsqueeze(-1)).squeeze(-1) * self.sim.current.present
            total += (self.discount**h) * expected * live[:, None]
            _, _, _, _, info = self.sim.step({"users": users, "items": items})
            live &= ~info["done"]
        value = total.view(b, k, m, c.num_users).mean(2)  # [B, K, U]
        return value.argmax(1)


class FixedLevelPolicy:
    """Every item always asks for ``level`` (the core clamps it to what the funds cover)."""

    def __init__(self, level: int):
        self.level = level

    def act(self, obs, mask):
        a = torch.full(obs.shape[:2], self.level, dtype=torch.long, device=obs.device)
        if mask is not None:  # highest allowed level not above the fixed one
            levels = torch.arange(mask.shape[-1], device=obs.device)
            allowed = mask & (levels <= self.level)
            a = torch.where(allowed, levels, -1).amax(-1).clamp_min(0)
        return a


class PromoteWhenShownPolicy:
    """Promote at ``level`` (clamped to funds) when the item was recommended last step, else not.

    A scripted provider: people who were shown an item tend to be retrieved it again, so bidding only
    then wastes little where promotion costs per step (``promotion_cost``)."""

    def __init__(self, config, level: int | None = None):
        self.slice = observation_layout(config)["items"]["impression_share"]
        self.level = config.num_levels - 1 if level is None else level
        self.num_levels = config.num_levels

    def act(self, obs, mask):
        shown = obs[..., self.slice].squeeze(-1) > 0
        a = torch.where(shown, self.level, 0)
        if mask is not None:  # the highest affordable level of keeping the item (actions 0..L-1)
            mask = mask[..., : self.num_levels]
            levels = torch.arange(mask.shape[-1], device=obs.device)
            a = torch.minimum(a, torch.where(mask, levels, 0).amax(-1))
        return a


class CreatorPolicy:
    """A scripted creator (``num_drafts > 0``): each step it publishes the draft it can pay for that beats
    its live item on its rule, else keeps the item; it never buys promotion. Rules: ``"never-publish"``
    (keep the first item), ``"quality-first"`` (the highest true quality), ``"clickbait-first"`` (the
    highest appeal), ``"copy-trend"`` (the content closest to the world's most clicked item). Reads only
    the creator's observation (its own item and drafts, and the public trending item) and mask."""

    RULES = ("never-publish", "quality-first", "clickbait-first", "copy-trend")

    def __init__(self, config, rule: str):
        if config.num_drafts < 1:
            raise ValueError(f"creator policy {rule!r} needs drafts to choose from: set num_drafts >= 1 "
                             "(the 'creators' scenario has 3)")
        if rule not in self.RULES:
            raise ValueError(f"unknown creator rule {rule!r}: use one of {', '.join(self.RULES)}")
        self.rule, self.lay, self.levels = rule, observation_layout(config)["items"], config.num_levels

    def scores(self, obs) -> torch.Tensor:
        """``[B, I, M + 1]`` how much the rule likes the live item (column 0) and each draft."""
        read = functools.partial(self.lay.read, obs)
        if self.rule == "quality-first":
            return torch.cat([read("quality"), read("draft_quality")], -1)
        if self.rule == "clickbait-first":
            return torch.cat([read("appeal"), read("draft_appeal")], -1)
        trend = read("trending_content").unsqueeze(-2)  # [B, I, 1, D]
        return torch.cat([(read("content").unsqueeze(-2) * trend).sum(-1),
                          (read("draft_content") * trend).sum(-1)], -1)

    def act(self, obs, mask):
        if self.rule == "never-publish":
            return torch.zeros(obs.shape[:2], dtype=torch.long, device=obs.device)
        scores = self.scores(obs)
        if mask is not None:  # publishing p at level 0 is action p * L
            scores = torch.where(mask[..., :: self.levels], scores, -torch.inf)
        return scores.argmax(-1) * self.levels  # the live item (0) wins ties: publish only to improve


def user_baselines(config, seed: int = 0, planner: bool = False, ranker_weights: dict | None = None) -> dict:
    """The scripted user policies every comparison reports, by name (a trailing '*' marks privileged
    ones, which read hidden state). ``planner=True`` adds the rollout planner (costly: K * samples
    copies of the batch stepped horizon times per decision). ``ranker_weights`` (from
    :func:`tune_linear_ranker` on this config) adds the tuned ``linear ranker``."""
    pols = {
        "random": RandomPolicy(config.num_candidates, seed=seed, slate_size=config.slate_size),
        "popularity": PopularityPolicy(config),
        "greedy": GreedyPolicy(config),
        "model-based": ModelBasedPolicy(config),
        **({"linear ranker": LinearRankerPolicy(config, ranker_weights)} if ranker_weights is not None else {}),
        "myopic oracle*": MyopicOraclePolicy(config),
        "farsighted oracle*": FarsightedOraclePolicy(config),
    }
    if planner:
        pols["planner*"] = RolloutPlannerPolicy(config)
    return pols


def scripted_policy(name: str, config, group: str, seed: int = 0, device="cpu"):
    """'random', 'greedy', 'popularity', 'model-based' (users); 'fixed:L' (items, level L) or a creator
    rule (:attr:`CreatorPolicy.RULES`, with drafts) as a Policy. A policy with ``bind`` (model-based)
    must be bound to the env it acts in before it acts."""
    n_actions = config.num_candidates if group == "users" else config.num_item_actions
    if name == "random":
        return RandomPolicy(n_actions, seed=seed, device=device, slate_size=config.slate_size if group == "users" else 1)
    if group == "users" and name == "greedy":
        return GreedyPolicy(config)
    if group == "users" and name == "popularity":
        return PopularityPolicy(config)
    if group == "users" and name == "model-based":
        return ModelBasedPolicy(config)
    if group == "items" and name in CreatorPolicy.RULES:
        return CreatorPolicy(config, name)
    if group == "items" and name.startswith("fixed:"):
        try:
            level = int(name.split(":", 1)[1])
        except ValueError:
            level = None
        if level is None or not 0 <= level < config.num_levels:
            raise ValueError(f"fixed level in {name!r} must be an integer in 0..{config.num_levels - 1}")
        return FixedLevelPolicy(level)
    allowed = ("random, greedy, popularity, model-based" if group == "users" else
               f"random, fixed:0..fixed:{config.num_levels - 1}, " + ", ".join(CreatorPolicy.RULES))
    raise ValueError(f"unknown scripted policy {name!r} for {group}: use one of {allowed}")

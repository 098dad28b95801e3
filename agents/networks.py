"""Networks shared by the learners: per-group heads that map ``obs [B, N, O]`` to ``[B, N, A]``.

User agents score each candidate with the same small MLP over that candidate's features and the
person's context (permutation-equivariant over the list, as slate recommenders do), so a network
learns "what makes a candidate good" once instead of once per list position, plus a linear term in
the candidate's numbers (wide and deep, as Google Play's recommender: Cheng et al. 2016): the linear
part learns quickly what a tuned linear ranker knows, the MLP what depends on the person and their
visit. Item agents use a plain MLP over their observation. Both can append a one-hot agent id.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from recsim_marl.core import observation_layout
from recsim_marl.core.observation import fields_of


def candidate_fields(config) -> tuple[str, ...]:
    """The per-candidate numbers a user network reads beside the candidate's content: every such field of
    the observation table that worlds of ``config`` have."""
    return fields_of("users", "affinity", "candidate", config=config)


def context_fields(config) -> tuple[str, ...]:
    """The person's fields a user network reads with every candidate (every such field of the table)."""
    return fields_of("users", "person", config=config)


def mlp(inp: int, hidden: int, out: int, layers: int = 2) -> nn.Sequential:
    mods, d = [], inp
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.Tanh()]
        d = hidden
    mods.append(nn.Linear(d, out))
    return nn.Sequential(*mods)


def _agent_ids(b: int, n: int, num_agents: int, agent_index: torch.Tensor | None, device) -> torch.Tensor:
    """One-hot ids ``[B, N, num_agents]``: of ``agent_index [B, N]``, or of the position 0..N-1."""
    if agent_index is None:
        agent_index = torch.arange(n, device=device).expand(b, n)
    return torch.nn.functional.one_hot(agent_index, num_agents).to(torch.float32)


class CandidateScorer(nn.Module):
    """``[B, N, O_u] -> [B, N, K]``: one score per candidate, ``mlp(content, numbers, context) +
    linear(numbers)`` (numbers: the candidate's :func:`candidate_fields`). ``content=False`` leaves the
    candidate's content embedding out of the MLP: the network then tells candidates apart only by what
    the platform observes of them (relevance, familiarity, rating, click-through rate, ...), so it cannot
    learn particular items by their content (the learner option ``content``)."""

    def __init__(self, config, hidden: int = 64, agent_id: bool = False, content: bool = True):
        super().__init__()
        self.lay = observation_layout(config)["users"]
        self.k, self.d = config.num_candidates, config.embed_dim
        self.n = config.num_users if agent_id else 0
        self.content = content
        self.numbers, self.context = candidate_fields(config), context_fields(config)
        ctx = sum(self.lay.fields[f][0].stop - self.lay.fields[f][0].start for f in self.context)
        self.net = mlp(self.d * content + len(self.numbers) + ctx + self.n, hidden, 1)
        self.wide = nn.Linear(len(self.numbers), 1)

    def forward(self, obs: torch.Tensor, agent_index: torch.Tensor | None = None) -> torch.Tensor:
        return self._scores(obs, agent_index)

    def _scores(self, obs: torch.Tensor, agent_index: torch.Tensor | None, context: tuple = (),
                numbers: tuple = ()) -> torch.Tensor:
        """Scores from the observation plus ``context`` tensors ``[B, N, C]`` and per-candidate
        ``numbers`` ``[B, N, K]`` of a subclass."""
        b, n, _ = obs.shape
        numbers = torch.stack([*(self.lay.read(obs, f) for f in self.numbers), *numbers], -1)  # [B, N, K, F]
        ctx = [obs[..., self.lay[f]] for f in self.context]
        if self.n:
            ctx.append(_agent_ids(b, n, self.n, agent_index, obs.device))
        ctx = torch.cat([*ctx, *context], -1).unsqueeze(2).expand(b, n, self.k, -1)
        content = [self.lay.read(obs, "candidate_content")] if self.content else []
        deep = self.net(torch.cat([*content, numbers, ctx], -1))
        return (deep + self.wide(numbers)).squeeze(-1)


class MemoryScorer(CandidateScorer):
    """A :class:`CandidateScorer` with memory: a GRU over each person's steps whose state joins the person's
    context, and its estimate of the person's taste (a vector in content space) scores each candidate as
    one more number, ``<taste, content>``, beside the platform's relevance. Why: a person's taste is hidden and the platform's estimate of it is a click average; a
    recommender that remembers what it showed, what was clicked and how much of it was watched can infer
    more (session-based recommenders, GRU4Rec: Hidasi et al. 2016). Each step the GRU reads the person's
    fields (the platform's estimate and click log, click and watch rates, visit time, presence) and what
    became of the candidate picked the step before (its content, clicked or not, the share watched); it
    starts from zeros at each episode's first step
    (``progress`` 0), so a policy never carries one person's memory into another episode.

    The memory is explicit: ``state [B, N, H + D + 3]`` (the GRU's state, the last pick's content, the
    click and watch rates when it was made, and whether it was shown).
    :meth:`step` gives the logits and the GRU state, :meth:`after` the next memory once the action is
    known; :meth:`initial` the memory before any step. ``forward`` is a step from an empty memory."""

    def __init__(self, config, hidden: int = 64, agent_id: bool = False, content: bool = True):
        super().__init__(config, hidden, agent_id, content)
        ctx = sum(self.lay.fields[f][0].stop - self.lay.fields[f][0].start for f in self.context)
        self.h, self.rate = hidden, config.history_rate
        self.gru = nn.GRUCell(ctx + 3 * self.d + 2, hidden)
        self.taste = nn.Linear(hidden, self.d)  # the memory's own estimate of the person's taste, in content space
        numbers = len(self.numbers) + 1  # the observed numbers and <taste, content>
        self.net = mlp(self.d * content + numbers + ctx + self.n + hidden, hidden, 1)
        self.wide = nn.Linear(numbers, 1)

    def initial(self, b: int, n: int, device=None) -> torch.Tensor:
        return torch.zeros(b, n, self.h + self.d + 3, device=device)

    def _last(self, obs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """What became of the last pick: its content, whether it was clicked and the share watched, each
        read from the change of the person's click and watch rates (moving averages at ``history_rate``)
        since the step before, as the platform's own log has them; zeros when the person was away."""
        _, last, rate0, watch0, shown = state.split([self.h, self.d, 1, 1, 1], -1)
        r = self.rate
        click = ((self.lay.read(obs, "click_rate") - (1 - r) * rate0) / r).clamp(0, 1) * shown
        watched = ((self.lay.read(obs, "watch_rate") - (1 - r) * watch0) / r).clamp(0, 1) * shown
        return torch.cat([last, click * last, watched * last, click, watched], -1)

    def step(self, obs: torch.Tensor, state: torch.Tensor, agent_index: torch.Tensor | None = None):
        """``(logits [B, N, K], h [B, N, H])`` for this step from the memory ``state`` of the step before."""
        fresh = self.lay.read(obs, "progress") <= 0  # [B, N, 1]: an episode's first step
        state = state.masked_fill(fresh, 0.0)
        ctx = torch.cat([obs[..., self.lay[f]] for f in self.context], -1)
        x = torch.cat([ctx, self._last(obs, state)], -1)
        b, n, _ = obs.shape
        h = self.gru(x.reshape(b * n, -1), state[..., :self.h].reshape(b * n, -1)).reshape(b, n, -1)
        taste = (self.lay.read(obs, "candidate_content") * self.taste(h).unsqueeze(2)).sum(-1)  # [B, N, K]
        return self._scores(obs, agent_index, (h,), (taste,)), h

    def after(self, obs: torch.Tensor, action: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The memory after ``action [B, N]``: the GRU state, the picked candidate's content (zeros for
        people away, whose pick was not shown), the person's click and watch rates now and whether the
        pick was shown."""
        content = self.lay.read(obs, "candidate_content")  # [B, N, K, D]
        picked = content.gather(2, action[..., None, None].expand(*action.shape, 1, self.d)).squeeze(2)
        shown = self.lay.read(obs, "present")
        return torch.cat([h, picked * shown, self.lay.read(obs, "click_rate"), self.lay.read(obs, "watch_rate"), shown],
                         -1)

    def forward(self, obs: torch.Tensor, agent_index: torch.Tensor | None = None) -> torch.Tensor:
        return self.step(obs, self.initial(obs.shape[0], obs.shape[1], obs.device), agent_index)[0]


class OnlineEstimateScorer(CandidateScorer):
    """A :class:`CandidateScorer` whose memory is an online estimate of each person's interest, the memory
    policy's (:class:`agents.baselines.MemoryPolicy`): the platform's estimate at each episode's first step,
    then after every recommendation a logistic regression's gradient step on what the person did with it
    (which slot they clicked, if any, and whether they watched enough; read from the observation,
    :func:`agents.baselines.observed_feedback` and :func:`~agents.baselines.online_interest`) at the rates
    ``rates`` (click, satisfaction). Each candidate gets five more numbers: its relevance under that
    estimate, and, under the world's formulas with the estimate in place of the hidden interest
    (:meth:`agents.baselines.MemoryPolicy.estimates`), its click probability ``P``, expected satisfaction
    ``q``, expected reward now and ``P (2q - 1)`` (the memory policy's look-ahead term).

    Why: a person's interest is hidden and the platform's estimate of it is a click average; what they
    did with each recommendation tells more (an online user model, as a bandit's). A recurrent network
    must find that from the reward alone (:class:`MemoryScorer` has not); here the memory is the hand-built
    estimator and the network learns what to recommend with it. The memory has no learned parameters, so
    replaying a rollout recomputes it exactly. Slates work: the update weighs each slot by the chance of
    its being chosen under the world's choice model.

    With a prior (``prior > 0``, MAPPO's ``--online-prior``), residual policy learning on the memory
    policy (as Silver et al. 2018 and Johannink et al. 2019 learn a residual on a hand-built controller):
    each candidate's output is its reward once chosen, the memory policy's (its value over ``P``, at the
    settings of :meth:`start_as_memory`) plus what the network adds (zero at the start), and the policy is
    sequential over the slate: slot by slot under the world's choice model with the estimate's ``P``, each
    slot drawn from the softmax of ``prior`` times the slate's expected reward with each candidate in it
    (:meth:`slate`). At the start its greedy slate (each slot its most likely candidate) is the memory
    policy's, and PPO learns from there.

    ``state [B, N, 2D + S D + 2S + 3]``: the estimate, the last slate's content, its slots' choice
    probabilities and expected satisfaction, the person's click and watch rates and click history when
    it was shown, and whether it was."""

    EXTRA = 5  # the numbers it adds per candidate

    def __init__(self, config, hidden: int = 64, agent_id: bool = False, content: bool = True,
                 rates: tuple[float, float] = (0.1, 0.1), prior: float = 0.0):
        super().__init__(config, hidden, agent_id, content)
        from agents.baselines import MemoryPolicy
        from recsim_marl.models.user import resolve_user_model

        if not (prior >= 0 and math.isfinite(prior)):
            raise ValueError(f"--online-prior must be a number >= 0, got {prior!r}")
        self.config, self.s, self.prior = config, config.slate_size, float(prior)
        self.sequential = self.prior > 0  # it builds its own slates (LearnedPolicy and MAPPO ask .slate)
        # the estimate's two rates and the prior's look-ahead weight travel in the state dict
        self.register_buffer("memory_rates", torch.tensor([float(r) for r in rates]))
        self.register_buffer("future_weight", torch.tensor(0.0))
        # the world's formulas under an estimate (MemoryPolicy.estimates); its own rates are not used here
        self.model = MemoryPolicy(config, *rates, user_model=resolve_user_model(config.user_model))
        ctx = sum(self.lay.fields[f][0].stop - self.lay.fields[f][0].start for f in self.context)
        numbers = len(self.numbers) + self.EXTRA
        self.net = mlp(self.d * content + numbers + ctx + self.n, hidden, 1)
        self.wide = nn.Linear(numbers, 1)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # checkpoints written before the rates and the look-ahead weight were saved: their values then
        for name, default in (("memory_rates", (0.1, 0.1)), ("future_weight", 0.0)):
            state_dict.setdefault(prefix + name, torch.tensor(default))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def rates(self) -> tuple[float, float]:
        """``(click rate, satisfaction rate)`` of the online estimate."""
        return tuple(round(float(r), 6) for r in self.memory_rates)

    @torch.no_grad()
    def start_as_memory(self, settings) -> None:
        """With a prior (``prior > 0``): start as the memory policy with ``settings`` ``(click_rate,
        satisfaction_rate, future_weight)`` (what :func:`agents.baselines.tune_memory` picks): the estimate at
        its rates, its value in the prior, the learned residual zero (the MLP's output layer and the linear
        part), so that the deterministic policy recommends the memory policy's slate."""
        if not self.prior:
            raise ValueError("start_as_memory needs a head with a prior (prior > 0: --online-prior)")
        click_rate, satisfaction_rate, future_weight = (float(v) for v in settings)
        self.memory_rates.copy_(torch.tensor([click_rate, satisfaction_rate]))
        self.future_weight.fill_(future_weight)
        for layer in (self.net[-1], self.wide):
            layer.weight.zero_()
            layer.bias.zero_()

    def slate(self, logits: torch.Tensor, h: torch.Tensor, mask: torch.Tensor | None, gen=None, slate=None):
        """With a prior, the policy's slate (``[B, N]`` with one slot) from this step's ``logits`` (each
        candidate's reward once chosen) and ``h`` (:meth:`step`): built slot by slot under the world's choice
        model with the estimate's click probabilities, each slot drawn from the softmax of ``prior`` times the
        slate's expected reward with each candidate in it (:func:`agents.baselines.choice_model_slate`;
        ``gen`` None: the greedy slate, each slot its most likely candidate, the memory policy's at the
        start). Returns ``(slate, log P(slate), entropy of the first slot)``; given ``slate``, its
        log-probability."""
        from agents.baselines import choice_model_slate

        attraction = h[..., self.d:self.d + self.k]
        if slate is not None and slate.dim() == logits.dim() - 1:
            slate = slate.unsqueeze(-1)
        a, logp, entropy = choice_model_slate(self.config, attraction, logits, mask, self.prior, gen, slate)
        return (a.squeeze(-1) if self.s == 1 else a), logp, entropy

    def _split(self, state: torch.Tensor):
        d, s = self.d, self.s
        return state.split([d, s * d, s, s, 1, 1, d, 1], -1)

    def initial(self, b: int, n: int, device=None) -> torch.Tensor:
        return torch.zeros(b, n, 2 * self.d + self.s * self.d + 2 * self.s + 3, device=device)

    def step(self, obs: torch.Tensor, state: torch.Tensor, agent_index: torch.Tensor | None = None):
        """``(logits [B, N, K], h)``: this step's scores, with the estimate updated by what became of the
        slate the step before (``h``: the estimate and each candidate's ``P`` and ``q``, for :meth:`after`)."""
        from agents.baselines import observed_feedback, online_interest

        b, n, _ = obs.shape
        interest, shown, choice, q0, rate0, watch0, history0, acted = self._split(state)
        click, satisfied, clicked = observed_feedback(self.config, self.lay, obs, rate0[..., 0], watch0[..., 0],
                                                      history0)
        p = online_interest(interest, shown.reshape(b, n, self.s, self.d), choice, q0, acted[..., 0], click,
                            satisfied, clicked, *self.memory_rates.unbind())
        # an episode's first step (or no memory yet): the platform's estimate
        fresh = (self.lay.read(obs, "progress") <= 0) | (interest.abs().sum(-1, keepdim=True) == 0)
        p = torch.where(fresh, self.lay.read(obs, "estimate"), p)
        attraction, q, now = self.model.estimates(obs, p)
        relevance = (self.lay.read(obs, "candidate_content") * p.unsqueeze(2)).sum(-1)
        logits = self._scores(obs, agent_index, (), (relevance, attraction, q, now, attraction * (2 * q - 1)))
        if self.prior:  # each candidate's reward once chosen: the memory policy's plus the learned residual
            value = now + self.future_weight * attraction * (2 * q - 1)
            logits = value / attraction.clamp_min(1e-6) + logits
        return logits, torch.cat([p, attraction, q], -1)

    def after(self, obs: torch.Tensor, action: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The memory after ``action`` (``[B, N]``, or a slate ``[B, N, S]``)."""
        from agents.baselines import shown_slate

        p, attraction, q = h.split([self.d, self.k, self.k], -1)
        slate = action.unsqueeze(-1) if action.dim() == 2 else action
        shown, choice, q_shown, acted = shown_slate(self.config, self.lay, obs, slate, attraction, q)
        return torch.cat([p, shown.flatten(-2), choice, q_shown, self.lay.read(obs, "click_rate"),
                          self.lay.read(obs, "watch_rate"), self.lay.read(obs, "history"), acted.unsqueeze(-1)], -1)

    def forward(self, obs: torch.Tensor, agent_index: torch.Tensor | None = None) -> torch.Tensor:
        return self.step(obs, self.initial(obs.shape[0], obs.shape[1], obs.device), agent_index)[0]


class SlateQ(nn.Module):
    """SlateQ's decomposition of a slate's value (Ie et al., IJCAI 2019) as a Q-network ``[B, N, O_u] ->
    [B, N, K + 1]``: the value of the person consuming each candidate, ``Qbar(s, i)`` (a
    :class:`CandidateScorer`), and last the value of their choosing nothing, ``Qbar(s, none)`` (an MLP of the
    person's context). With one choice per step, and a reward and next state that depend only on what was
    consumed, a slate ``A`` is worth
    ``Q(s, A) = sum_{i in A} P(i | s, A) Qbar(s, i) + P(none | s, A) Qbar(s, none)``.

    ``P`` is the world's choice model (its family and position bias) applied to each candidate's click
    probability as the model-based policy estimates it from the observation
    (:meth:`agents.baselines.ModelBasedPolicy.attraction`: the world's click formula with the median
    person's traits, the platform's interest estimate and click log in place of the hidden interest and
    boredom, average appeal and full trust): model knowledge a platform has of its own click model, never
    the hidden state. The decomposition is exact only where reward and next state depend on what was
    consumed alone; here every item looked at also tires the person a little and every look beyond the
    first costs time, so it is an approximation. The slate: slot by slot, each slot the candidate that most
    raises ``Q(s, A)`` (:func:`agents.baselines.slate_by_choice_model`, SlateQ's greedy optimisation)."""

    def __init__(self, config, hidden: int = 64, agent_id: bool = False, content: bool = True):
        super().__init__()
        from agents.baselines import ModelBasedPolicy
        from recsim_marl.models.user import resolve_user_model

        self.config, self.slate_size = config, config.slate_size
        self.items = CandidateScorer(config, hidden, agent_id, content)
        lay, ctx = self.items.lay, self.items.context
        width = sum(lay.fields[f][0].stop - lay.fields[f][0].start for f in ctx)
        self.none = mlp(width + self.items.n, hidden, 1)
        self.estimate = ModelBasedPolicy(config, resolve_user_model(config.user_model))

    def forward(self, obs: torch.Tensor, agent_index: torch.Tensor | None = None) -> torch.Tensor:
        b, n, _ = obs.shape
        ctx = [obs[..., self.items.lay[f]] for f in self.items.context]
        if self.items.n:
            ctx.append(_agent_ids(b, n, self.items.n, agent_index, obs.device))
        return torch.cat([self.items(obs, agent_index), self.none(torch.cat(ctx, -1))], -1)

    def attraction(self, obs: torch.Tensor) -> torch.Tensor:
        """``[B, N, K]`` each candidate's click probability alone, as the platform estimates it; 0 for a
        person away between visits (shown nothing, they consume nothing: their slate is worth
        ``Qbar(s, none)``, the value their steps away are stored with)."""
        return self.estimate.attraction(obs) * self.items.lay.read(obs, "present")

    def slate(self, q: torch.Tensor, attraction: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """``[B, N, S]`` the slate of highest ``Q(s, A)`` (greedy, slot by slot) for values ``q [B, N, K + 1]``."""
        from agents.baselines import slate_by_choice_model

        gain = q[..., :-1] - q[..., -1:]  # what consuming a candidate is worth over consuming nothing
        return slate_by_choice_model(self.config, attraction, attraction * gain, mask)

    def slate_value(self, q: torch.Tensor, attraction: torch.Tensor, slate: torch.Tensor) -> torch.Tensor:
        """``[B, N]`` ``Q(s, A)`` of ``slate [B, N, S]`` for values ``q [B, N, K + 1]``."""
        from agents.baselines import slate_choice

        none = q[..., -1]
        p = slate_choice(self.config, attraction.gather(-1, slate))
        return none + (p * (q[..., :-1].gather(-1, slate) - none.unsqueeze(-1))).sum(-1)

    @torch.no_grad()
    def choose(self, obs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """``[B, N, S]`` the slate this network recommends (what :class:`agents.policy.LearnedPolicy` acts)."""
        return self.slate(self(obs), self.attraction(obs), mask)


class FlatHead(nn.Module):
    """``[B, N, O] -> [B, N, A]`` with an MLP (item agents)."""

    def __init__(self, obs_dim: int, num_actions: int, num_agents: int, hidden: int = 64, agent_id: bool = False):
        super().__init__()
        self.n = num_agents if agent_id else 0
        self.net = mlp(obs_dim + self.n, hidden, num_actions)

    def forward(self, obs: torch.Tensor, agent_index: torch.Tensor | None = None) -> torch.Tensor:
        if self.n:
            obs = torch.cat([obs, _agent_ids(obs.shape[0], obs.shape[1], self.n, agent_index, obs.device)], -1)
        return self.net(obs)


def group_head(config, group: str, hidden: int = 64, agent_id: bool = False, memory: bool = False,
               q_values: bool = False, content: bool = True, online_estimate: bool = False,
               online_prior: float = 0.0) -> nn.Module:
    """The action head (policy logits or Q-values) of a group; ``memory``: the users' recurrent
    :class:`MemoryScorer` (items have no memory head); ``online_estimate``: the users'
    :class:`OnlineEstimateScorer`; ``q_values`` with slates (S > 1): the users' values decomposed by
    :class:`SlateQ` (a Q-learner's slate head); ``content=False``: the users' network reads no candidate's
    content embedding (:class:`CandidateScorer`); ``online_prior`` > 0: the online-estimate head learns a
    residual on the memory policy, a sequential slate policy."""
    if group == "users":
        if online_prior and not online_estimate:
            raise ValueError(f"--online-prior {online_prior} starts the online-estimate head as the memory policy: "
                             "add --online-estimate, or drop --online-prior")
        if memory and online_estimate:
            raise ValueError("--memory and --online-estimate are two memories for the users' network: choose one")
        if online_estimate and q_values:
            raise ValueError("--online-estimate is a policy head with memory (MAPPO); IQL's Q-network has none")
        if memory and config.slate_size > 1:
            raise ValueError(f"slate_size={config.slate_size}: the recurrent users' head (--memory) shows one item; "
                             "use slate_size=1 or no memory")
        if q_values and config.slate_size > 1:
            return SlateQ(config, hidden, agent_id, content)
        if online_estimate:
            net = OnlineEstimateScorer(config, hidden, agent_id, content, prior=online_prior)
        else:
            net = (MemoryScorer if memory else CandidateScorer)(config, hidden, agent_id, content)
        net.slate_size = config.slate_size  # S candidates shown: LearnedPolicy and the learners read it here
        return net
    lay = observation_layout(config)["items"]
    return FlatHead(lay.size, config.num_item_actions, config.num_items, hidden, agent_id)


def masked_logits(logits: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Disallowed actions get a very negative logit (finite, so an all-masked row cannot make NaNs)."""
    if mask is None:
        return logits
    return logits.masked_fill(~mask, -1e8)


class PerGroup(nn.Module):
    """Modules keyed by agent group. (``nn.ModuleDict`` cannot hold the key 'items': it is a method.)"""

    def __init__(self, modules: dict[str, nn.Module]):
        super().__init__()
        self.groups = tuple(modules)
        for g, m in modules.items():
            self.add_module(g, m)

    def __getitem__(self, group: str) -> nn.Module:
        return getattr(self, group)

    def __contains__(self, group: str) -> bool:
        return group in self.groups


def init_from(module: nn.Module, gen: torch.Generator) -> nn.Module:
    """Re-draw every ``nn.Linear`` of ``module`` as PyTorch's default does (Kaiming-uniform weights,
    uniform biases in +-1/sqrt(fan_in)) but from ``gen``, so a run's networks depend on its seed only
    and torch's global random state is neither read nor changed. Returns ``module``."""
    for m in module.modules():
        if isinstance(m, nn.GRUCell):  # PyTorch's default: every weight and bias uniform in +-1/sqrt(hidden)
            bound = 1.0 / math.sqrt(m.hidden_size)
            with torch.no_grad():
                for w in m.parameters():
                    nn.init.uniform_(w, -bound, bound, generator=gen)
        if isinstance(m, nn.Linear):
            with torch.no_grad():
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=gen)
                if m.bias is not None:
                    bound = 1.0 / math.sqrt(m.in_features) if m.in_features > 0 else 0.0
                    nn.init.uniform_(m.bias, -bound, bound, generator=gen)
    return module


def build(factory, gen: torch.Generator) -> nn.Module:
    """``factory()`` built without touching torch's global random state, then initialised from ``gen``."""
    with torch.random.fork_rng(devices=[]):  # the default initialisation's draws are discarded
        module = factory()
    return init_from(module, gen)

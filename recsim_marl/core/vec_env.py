"""The batched core: ``VecEnv.reset/step`` over B worlds at once, on CPU or GPU (DESIGN §4).

One step is a fixed sequence of tensor operations over all envs and agents: no Python loop over
agents or envs, no host-device synchronisation (unless ``validate=True`` asks for value checks of the
actions, which must read them). Envs whose agents are all done are reset in the same step (their next
episode keyed by ``episode + 1``); what they looked like at the end is in ``info["final_observation"]``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import fields

import torch

from recsim_marl import rng
from recsim_marl.config import SCENARIOS, EnvConfig, make_config
from recsim_marl.core import observation as obs_mod
from recsim_marl.core.state import State, initial_state
from recsim_marl.core.world import Catalogue, build_world, check_memory, draw, select, take
from recsim_marl.models import _kernels, creators, market, platform, retrieval
from recsim_marl.models import user as um
from recsim_marl.models.checked import CheckedUserModel

GROUPS = ("users", "items")


def retrieve_candidates(world: Catalogue, config: EnvConfig, s: State) -> torch.Tensor:
    """Next candidate lists ``[B, U, K]`` from the platform's estimate, promotion and seeded noise."""
    keys = rng.stream_keys(s.seed, s.episode, s.t, (rng.Purpose.RETRIEVAL_USER, rng.Purpose.RETRIEVAL_ITEM))
    user_bits = rng.bits16(keys[0], (config.num_users,))
    item_bits = rng.bits16(keys[1], (config.num_items,))
    bonus = config.promotion_boost * s.promotion.to(torch.float32) / (config.num_levels - 1)
    if config.items_change and config.new_item_boost > 0:  # the platform explores new items
        bonus = bonus + config.new_item_boost * (1.0 - s.age / config.new_item_steps).clamp_min(0.0)
    table = retrieval.noise_table(config.retrieval_noise, s.t.device) if config.retrieval_noise > 0 else None
    return retrieval.retrieve(
        s.estimate, world.content_t, bonus, user_bits, item_bits, table, config.num_candidates,
        config.retrieval_memory_mb,
    )


def reset_state(world: Catalogue, config: EnvConfig, seed: torch.Tensor, episode: torch.Tensor,
                model: um.UserModel | None = None) -> State:
    s = initial_state(world, config, seed, episode, model)
    s.candidates = retrieve_candidates(world, config, s)
    return s


def slate_items(candidates: torch.Tensor, slots: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The items of each person's slate, ``[B, U, S]`` (item agents), from the candidate indices ``slots
    [B, U, S]``, and which slots show one, ``[B, U, S]`` bool: a candidate already shown higher up the slate
    leaves its slot empty (the first occurrence wins), and nothing is shown to a person who is not there."""
    n = slots.shape[-1]
    earlier = torch.ones(n, n, dtype=torch.bool, device=slots.device).tril(-1)  # [k, j]: j above k
    repeat = ((slots.unsqueeze(-1) == slots.unsqueeze(-2)) & earlier).any(-1)
    return torch.gather(candidates, 2, slots), ~repeat & present.unsqueeze(-1)


def choose_from_slate(world: Catalogue, c: EnvConfig, s: State, m, tr, slate, on_slate, draw):
    """What each person does with their slate (docs/world.md, "One step", the slate row): the slot chosen
    ``[B, U]`` (S for none), the slots looked at, the slate's content ``[B, U, S, D]``, the item consumed (the
    top one when none was), its affinity and promotion mark, and the click (float)."""
    trp = tr.per_candidate()
    levels = torch.gather(s.promotion, 1, slate.flatten(1)).view(slate.shape).to(torch.float32) / (c.num_levels - 1)
    content = take(world.content, slate)
    aff = m.affinity(c, trp, s.interest.unsqueeze(-2), s.boredom.unsqueeze(-2), content)
    attraction = m.click_probability(c, trp, aff, take(world.appeal, slate), levels, s.trust.unsqueeze(-1))
    attraction = attraction * on_slate
    look = None
    if c.choice_model == "pbm":
        key = rng.stream_key(s.seed, s.episode, s.t, rng.Purpose.LOOK)
        look = rng.uniform(key, (c.num_users, c.slate_size))
    slot, looked = m.choose(c, attraction, m.look(c, on_slate, look), draw)
    chose = slot < c.slate_size
    pick = torch.where(chose, slot, 0).unsqueeze(-1)
    one = lambda x: torch.gather(x, 2, pick).squeeze(-1)  # noqa: E731
    return slot, looked, content, one(slate), one(aff), one(levels), chose.to(torch.float32)


def transition(world: Catalogue, c: EnvConfig, s: State, user_action: torch.Tensor, item_action: torch.Tensor,
               model: um.UserModel | None = None):
    """One step of every env (docs/world.md, "One step"; without the reset); ``world``: their catalogues.

    user_action ``[B, U]`` long in [0, K); item_action ``[B, I]`` long in [0, (M + 1) L) (the level alone
    when ``num_drafts = 0``).
    Returns (next state without new candidates, rewards, terminated, truncated, extras).
    """
    m = um.resolve_user_model(c.user_model) if model is None else model
    tr = um.Traits.of(s.traits)
    alive, present = s.alive, s.present  # in the episode; in a visit now (present implies alive)
    pres_f = present.to(torch.float32)
    # the step's per-person draws in one pass: click, satisfaction, return, ad (each its own stream)
    purposes = (rng.Purpose.CLICK, rng.Purpose.SATISFACTION, rng.Purpose.RETURN, rng.Purpose.AD)
    purposes = purposes[:2] + tuple(p for p, on in zip(purposes[2:], (c.return_rate > 0, c.ad_load > 0)) if on)
    draws = rng.uniform(rng.stream_keys(s.seed, s.episode, s.t, purposes), (c.num_users,))
    draw, draw_q = draws[0], draws[1]
    ad = torch.zeros_like(present)
    if c.slate_size > 1:  # a slate: the person looks down it and chooses one item or none
        slate, on_slate = slate_items(s.candidates, user_action, present)
        slot, looked, slate_e, rec, aff, shown, click = choose_from_slate(world, c, s, m, tr, slate, on_slate, draw)
        click = click * pres_f
        e = take(world.content, rec)
    else:
        rec = torch.gather(s.candidates, 2, user_action.unsqueeze(-1)).squeeze(-1)  # [B, U]
        if c.ad_load > 0:  # the feed's sponsored slot displaces the agent's pick
            rec, ad, second = market.sponsored(s.candidates, s.promotion, rec, draws[-1], present, c.ad_load)
        e = take(world.content, rec)  # [B, U, D]
        aff = m.affinity(c, tr, s.interest, s.boredom, e)
        shown = torch.gather(s.promotion, 1, rec).to(torch.float32) / (c.num_levels - 1)  # bought last step
        p_click = m.click_probability(c, tr, aff, take(world.appeal, rec), shown, s.trust)
        click = (draw < p_click).to(torch.float32) * pres_f
    z = take(world.quality, rec)
    q = m.satisfaction(c, tr, aff, z)
    satisfied = (draw_q < q).to(torch.float32) * click
    length = take(world.length, rec)
    w = m.engagement(c, click, satisfied, length)
    watched = (w / length.clamp_min(1e-6)).clamp(0.0, 1.0)  # the share of the item watched: what a platform logs

    budget = m.update_budget(c, tr, s.budget, click, satisfied)
    if c.slate_size > 1:  # looking further down a slate takes time
        budget = budget - m.look_time(c, looked)
    budget = torch.where(present, budget, s.budget)
    trust = torch.where(alive, m.update_trust(c, tr, s.trust, click, satisfied, shown), s.trust)
    memory = torch.where(present, m.update_memory(c, tr, s.memory, click, satisfied), s.memory)
    stays = present & (budget > 0)  # a visit ends when the person's time budget runs out
    if c.return_rate > 0:  # sessions: the person is away until they come back, with a fresh budget
        p_back = m.return_probability(c, tr, s.memory, s.trust)
        back = alive & ~present & (draws[2] < p_back)
        present_next = stays | back
        alive_next = alive
        budget = torch.where(back, tr.budget, budget)
    else:  # the end of a visit is final
        back = torch.zeros_like(present)
        present_next = alive_next = stays

    if c.num_drafts:  # creators: publish a draft or keep the live item, and buy a promotion level
        published, items, rating, cost, level, spend = creators.publish(c, world.pool, s, item_action)
        outlay = spend + cost + c.upkeep
    else:
        level, spend = market.pay_for_promotion(item_action, s.funds, c.num_levels, c.promotion_cost)
        published, items, rating, cost = torch.zeros_like(s.funds, dtype=torch.bool), s.items, s.rating, None
        outlay = spend + c.upkeep if c.upkeep else spend
    clicks_i = torch.zeros_like(s.funds).scatter_add_(1, rec, click)
    if c.slate_size > 1:  # every item of a slate is shown
        impressions_i = torch.zeros_like(s.funds).scatter_add_(1, slate.flatten(1), on_slate.flatten(1).to(torch.float32))
    else:
        impressions_i = torch.zeros_like(s.funds).scatter_add_(1, rec, pres_f)
    completion_i = torch.zeros_like(s.funds).scatter_add_(1, rec, watched * pres_f)
    funds = s.funds - outlay + c.click_value * clicks_i
    if c.ad_load > 0:  # a clicked ad pays the second price, billed up to the funds left
        price = c.ad_price * second.to(torch.float32) / (c.num_levels - 1) * (click * ad.to(torch.float32))
        bill = torch.minimum(torch.zeros_like(funds).scatter_add_(1, rec, price), funds.clamp_min(0.0))
        funds = funds - bill
        outlay = outlay + bill
    rp = c.popularity_rate
    item_logs = [impressions_i, clicks_i, (1 - rp) * s.impression_ma + rp * impressions_i,
                 (1 - rp) * s.click_ma + rp * clicks_i, (1 - rp) * s.completion_ma + rp * completion_i]
    if c.items_change:  # a creator whose funds ran out leaves; a newcomer takes the slot with a fresh item
        leaves = funds < 0
        newcomer, newcomer_rating = creators.entrants(world.pool, c, s)
        items = torch.where(leaves, newcomer, items)
        rating = torch.where(leaves, newcomer_rating, rating)
        funds = torch.where(leaves, c.initial_funds, funds)
        level = torch.where(leaves, 0, level)
        changed = published | leaves  # a new item: no history on the platform yet (cold start)
        item_logs = [torch.where(changed, 0.0, x) for x in item_logs]
        age = torch.where(changed, 0.0, s.age + 1.0)
    else:
        leaves, age = torch.zeros_like(published), s.age + 1.0

    user_r = (w if c.user_reward == "engagement" else click) * pres_f
    if c.return_reward:  # a person who comes back this step earns their agent the retention reward
        user_r = user_r + c.return_reward * back.to(torch.float32)
    user_r = market.team_mix(user_r, present | back, c.team_mixing)
    item_active = torch.ones_like(s.funds, dtype=torch.bool)
    item_r = market.team_mix(market.item_rewards(clicks_i, outlay, c.click_value), item_active, c.team_mixing)

    t_next = s.t + 1
    time_up = t_next >= c.max_cycles
    nobody = ~alive_next.any(-1)
    # the platform's estimate and logs of a person change only while they visit (rates times presence)
    nxt = State(
        seed=s.seed,
        episode=s.episode,
        t=t_next,
        interest=m.drift_interest(c, tr, s.interest, e, click, satisfied),
        estimate=platform.update_estimate(s.estimate, e, click, c.estimate_rate * pres_f),
        boredom=(m.update_boredom_slate(c, tr, s.boredom, slate_e, looked, click, e, world.profile,
                                        pres_f, alive.to(torch.float32)) if c.slate_size > 1 else
                 m.update_boredom(c, tr, s.boredom, e, click, world.profile, pres_f, alive.to(torch.float32))),
        history=platform.update_history(s.history, e, click, c.history_rate * pres_f),
        budget=budget,
        click_rate=torch.where(present, platform.update_log_rate(s.click_rate, click, c.history_rate), s.click_rate),
        trust=trust,
        traits=s.traits,
        alive=alive_next,
        present=present_next,
        memory=memory,
        away=torch.where(present_next, 0.0, s.away + 1.0),
        visits=s.visits + back.to(torch.float32),
        watch_rate=torch.where(present, platform.update_log_rate(s.watch_rate, watched, c.history_rate), s.watch_rate),
        visit_time=torch.where(present_next & ~back, s.visit_time + 1.0, 0.0),
        rating=rating,
        funds=funds,
        promotion=level,
        impressions=item_logs[0],
        clicks=item_logs[1],
        impression_ma=item_logs[2],
        click_ma=item_logs[3],
        completion_ma=item_logs[4],
        age=age,
        candidates=s.candidates,
        user_return=s.user_return + user_r.mean(-1),
        item_return=s.item_return + item_r.mean(-1),
        items=items,
        people=s.people,
    )
    terminated = {"users": alive & ~alive_next, "items": nobody.unsqueeze(-1).expand_as(item_active)}
    truncated = {
        "users": alive_next & time_up.unsqueeze(-1),
        "items": (time_up & ~nobody).unsqueeze(-1).expand_as(item_active),
    }
    rewards = {"users": user_r, "items": item_r}
    n_present = pres_f.sum(-1)
    extras = {
        "recommended": rec,  # what each person was shown (an ad where "sponsored"; with slates: what they chose, else the top)
        **({"slate": torch.where(on_slate, slate, -1), "chosen": torch.where(slot < c.slate_size, slot, -1)}
           if c.slate_size > 1 else {}),
        "sponsored": ad,
        "clicked": click.bool(),
        "levels": level.clone(),  # level is also the next state's promotion
        "published": published,
        "entered": leaves,
        "done": nobody | time_up,
        "metrics": {
            "clicks": click.sum(-1),
            "click_through_rate": click.sum(-1) / n_present.clamp_min(1.0),
            "engagement": w.sum(-1) / n_present.clamp_min(1.0),
            "satisfaction": satisfied.sum(-1) / click.sum(-1).clamp_min(1.0),
            "disappointment": (click - satisfied).sum(-1) / click.sum(-1).clamp_min(1.0),
            "trust": (s.trust * pres_f).sum(-1) / n_present.clamp_min(1.0),
            "alive_fraction": alive_next.to(torch.float32).mean(-1),
            "present_fraction": present_next.to(torch.float32).mean(-1),
            "returns": back.to(torch.float32).sum(-1),
            "return_gaps": (s.away * back.to(torch.float32)).sum(-1),  # steps away of those back
            "spend": spend.sum(-1),
            "mean_level": level.to(torch.float32).mean(-1),
            "ads": ad.to(torch.float32).sum(-1),
            "ad_revenue": bill.sum(-1) if c.ad_load > 0 else torch.zeros_like(n_present),
            "published": published.to(torch.float32).sum(-1),
            "exits": leaves.to(torch.float32).sum(-1),
            "production_cost": cost.sum(-1) if cost is not None else torch.zeros_like(n_present),
            **(creator_metrics(world.pool, items, published & ~leaves) if c.items_change else {}),
        },
    }
    return nxt, rewards, terminated, truncated, extras


def creator_metrics(pool, items: torch.Tensor, published: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per env, what creators made this step: the summed quality and appeal of the items published (by
    creators who stayed) and how many were clickbait (appeal > quality + 1); the mean quality and appeal
    of the live items ``items [B, I]`` after the step and their homogeneity (mean pairwise cosine)."""
    q, a, e = pool.quality[items], pool.appeal[items], pool.content[items]
    pub = published.to(torch.float32)
    n = items.shape[-1]
    total = e.sum(1)
    pairs = ((total * total).sum(-1) - (e * e).sum((1, 2))) / max(n * (n - 1), 1)
    return {"published_quality": (pub * q).sum(-1), "published_appeal": (pub * a).sum(-1),
            "clickbait": (pub * (a > q + 1).to(torch.float32)).sum(-1), "live_quality": q.mean(-1),
            "live_appeal": a.mean(-1), "homogeneity": pairs}


def advance(config: EnvConfig, world: Catalogue, s: State, user_action: torch.Tensor, item_action: torch.Tensor,
            host_reads: bool = False, model: um.UserModel | None = None, drawn: Catalogue | None = None):
    """A whole step as one pure function of tensors (what ``compile=True`` hands to torch.compile):
    the transition, the reset of finished envs into their next episode, and the next retrieval.
    ``world``: the catalogues of the items live in ``s``; ``drawn``: the ones each world drew (every
    episode starts from them; the same as ``world`` unless ``config.items_change``).
    Returns (terminal state, next state, rewards, terminated, truncated, extras, the next state's catalogues).

    ``host_reads=False`` builds every env's next first state and selects with ``where``, so nothing is
    read on the host (the CUDA path). ``host_reads=True`` (the CPU path, where reading ``done`` costs
    nothing) builds the first states of the finished envs only. Both give the same state: a first
    state depends only on its env's seed and episode.
    """
    nxt, rewards, terminated, truncated, extras = transition(world, config, s, user_action, item_action, model)
    drawn = world if drawn is None else drawn
    done = extras["done"]
    if host_reads:
        mixed = dataclasses.replace(nxt)
        rows = done.nonzero().squeeze(-1)
        if rows.numel():
            fresh = initial_state(drawn.rows(rows), config, nxt.seed[rows], nxt.episode[rows] + 1, model)
            mixed = nxt.replace_rows(rows, fresh)
    else:
        fresh = initial_state(drawn, config, nxt.seed, nxt.episode + 1, model)
        mixed = nxt.where(done, fresh)
    live = drawn.with_items(mixed.items) if config.items_change else world
    mixed.candidates = retrieve_candidates(live, config, mixed)
    return nxt, mixed, rewards, terminated, truncated, extras, live


class LazyGroups(Mapping):
    """A read-only mapping whose values are computed on first access (then kept)."""

    def __init__(self, factories: dict):
        self._factories = factories
        self._values: dict = {}

    def __getitem__(self, key):
        if key not in self._values:
            self._values[key] = self._factories[key]()
        return self._values[key]

    def __iter__(self):
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)


class VecEnv:
    """B independent worlds stepped together. Build with :func:`make_vec`.

    ``reset(seed)`` gives env ``b`` the seed ``seed + b`` (or ``seed[b]`` for a sequence), so env ``b``
    follows exactly the trajectory of a single env reset with that seed. Observations:
    ``{"users": [B, U, O_u], "items": [B, I, O_i], "action_mask": {"users": [B, U, K], "items":
    [B, I, L]}, "active": {"users": [B, U], "items": [B, I]}, "alive": {...}}``: ``active`` says who acts
    now (people in a visit), ``alive`` who is still in the episode (a person who is away between visits
    is alive but not active; one who left for good is neither).

    Agents that are not active (people away or gone) may be given any action in range; it is ignored.

    Each env is its own world: ``reset`` draws its items and people from the pool (``self.world``) by its
    seed (:func:`recsim_marl.core.world.draw`); ``self.catalogue`` holds their tensors, batch first.
    """

    def __init__(self, config: EnvConfig, num_envs: int, device: str | torch.device = "cpu", validate: bool = True,
                 compile: bool = False):
        if not isinstance(num_envs, int) or isinstance(num_envs, bool) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r} is invalid: must be a positive int")
        self.config = config
        self.num_envs = num_envs
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            hint = f" ({device!r} is a scenario: pass scenario={device!r})" if device in SCENARIOS else ""
            raise ValueError(f"device={device!r} is invalid{hint}: use 'cpu', 'cuda', 'cuda:N' or a torch.device") from None
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device={device!r} was asked for but torch sees no CUDA device; use device='cpu'")
        if self.device.type == "cuda" and self.device.index is None:
            # 'cuda' means the current GPU; with its index the device equals the one tensors report
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.validate = validate
        self.user_model = um.resolve_user_model(config.user_model)  # an unknown name fails here, not in step
        check_memory(config, num_envs, on_cpu=self.device.type == "cpu")  # before texts are generated
        self.world = build_world(config, self.device)  # the pool; each env's catalogue: self.catalogue
        self.catalogue: Catalogue | None = None  # the live items' (creators may publish)
        self.drawn: Catalogue | None = None  # the items each world drew: every episode starts from them
        self.layouts = obs_mod.observation_layout(config)
        self.num_actions = {"users": config.num_candidates, "items": config.num_item_actions}
        self.num_agents = {"users": config.num_users, "items": config.num_items}
        self._state: State | None = None
        # compile=True: torch.compile the whole step on CUDA, where kernel fusion and launch overhead
        # dominate; on CPU the eager step is used (same results), and `compiled` says which one runs
        self.compiled = bool(compile) and self.device.type == "cuda"
        # on the CPU a tensor value is already on the host: only finished envs build a first state
        self.host_reads = self.device.type == "cpu"
        if validate and not self.compiled and type(self.user_model) is not um.UserModel:
            # a custom model's outputs are checked as they are made (shape, finite, range), naming the method
            self.user_model = CheckedUserModel(self.user_model)
        step_fn = functools.partial(advance, self.config, model=self.user_model)  # the static part closed over
        self._advance = torch.compile(step_fn, dynamic=False) if self.compiled else step_fn

    # --- public API --------------------------------------------------------------------------------
    @property
    def _work(self) -> int:
        """Element operations of the largest part of a step (retrieval's people x items scores)."""
        return self.num_envs * self.config.num_users * self.config.num_items

    def reset(self, seed: int | list[int] = 0, episode: int = 0) -> dict:
        """Start episode ``episode`` (default 0) of every env.

        ``seed``: int (env b gets seed + b) or one int per env. Auto-reset moves an env to its next
        episode, so ``reset(seed=s, episode=n)`` reproduces the n-th episode an env seeded s plays.
        """
        seeds = rng.seeds_tensor(seed, self.num_envs, self.device)
        if isinstance(episode, bool) or not isinstance(episode, int) or episode < 0:
            raise ValueError(f"episode must be an int >= 0, got {episode!r}")
        with _kernels.serial_if_small(self._work, self.device):
            self.catalogue = self.drawn = select(self.world, *draw(self.world, self.config, seeds))
            self._state = reset_state(self.catalogue, self.config, seeds, torch.full_like(seeds, episode),
                                      self.user_model)
            return self._observe(self._state)

    def step(self, actions: dict[str, torch.Tensor]):
        """Advance every env one step.

        actions: ``{"users": LongTensor [B, U] in [0, K), "items": LongTensor [B, I] in [0, (M + 1) L)}``
        (items: ``p * L + l`` publishes draft p, 0 keeping the live item, at promotion level l).
        Returns ``(obs, rewards, terminated, truncated, info)``; rewards/terminated/truncated are dicts
        of ``[B, N]`` tensors per group. ``info``: ``done [B]`` (env finished this step and was reset),
        ``final_observation`` and ``final_state`` (the finished envs' last observation and state; rows
        of other envs are not meaningful), ``episode`` (``user_return``, ``item_return``, ``length``,
        ``visits`` (mean visits per person), valid where done), ``metrics`` (per-env step metrics), ``recommended [B, U]``, ``clicked [B, U]``,
        ``levels [B, I]`` (promotion levels applied after clamping to funds), ``published [B, I]`` and
        ``entered [B, I]`` (the slot's creator published a draft; left, and a newcomer took the slot).
        """
        if self._state is None:
            raise RuntimeError("step() called before reset(); call venv.reset(seed=...) first")
        ua, ia = self._check_actions(actions)
        with _kernels.serial_if_small(self._work, self.device):
            return self._step(ua, ia)

    def _step(self, ua: torch.Tensor, ia: torch.Tensor):
        s = self._state
        nxt, mixed, rewards, terminated, truncated, extras, live = self._advance(
            self.catalogue, s, ua, ia, self.host_reads, drawn=self.drawn)
        extras = dict(extras)
        done = extras.pop("done")
        c, lay = self.config, self.layouts
        drawn, now = self.drawn, self.catalogue

        @functools.cache
        def w() -> Catalogue:  # the terminal state's own items (creators may have published this last step)
            return drawn.with_items(nxt.items) if c.items_change else now

        final_obs = LazyGroups({  # nxt and s are never written again, so computing later is exact
            "users": lambda: obs_mod.user_observation(w(), c, nxt, s.candidates, lay["users"]),
            "items": lambda: obs_mod.item_observation(w(), c, nxt, lay["items"]),
            "state": lambda: obs_mod.global_state(w(), c, nxt, lay["state"]),
            "action_mask": lambda: {
                "users": obs_mod.user_mask(nxt.present, c.num_candidates),
                "items": obs_mod.item_mask(w(), c, nxt),
            },
            "hidden": lambda: nxt.clone(),
        })
        # copies: the caller may write what step returns; the live state must not change with it
        episode = {"user_return": nxt.user_return.clone(), "item_return": nxt.item_return.clone(),
                   "length": nxt.t.clone(), "visits": nxt.visits.mean(-1)}
        self._state, self.catalogue = mixed, live
        info = {
            "done": done,
            "final_observation": final_obs,
            "episode": episode,
            **extras,
        }
        return self._observe(mixed), rewards, terminated, truncated, info

    def state(self) -> torch.Tensor:
        """Compact centralised state ``[B, S]`` for critics (see :mod:`recsim_marl.core.observation`)."""
        return obs_mod.global_state(self.catalogue, self.config, self._require_state(), self.layouts["state"])

    def get_state(self) -> State:
        """A copy of the full dynamic state (for checkpoints); ``set_state`` puts it back exactly."""
        return self._require_state().clone()

    def set_state(self, s: State) -> None:
        """Restore a state from :meth:`get_state` (moved to this env's device; shapes checked)."""
        zeros = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        ref = reset_state(select(self.world, *draw(self.world, self.config, zeros)), self.config, zeros, zeros)
        for f in fields(State):
            a, b = getattr(s, f.name), getattr(ref, f.name)
            if tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
                raise ValueError(
                    f"state field {f.name} has shape {tuple(a.shape)} {a.dtype}, this env needs {tuple(b.shape)} {b.dtype}"
                )
        for name, pool in (("items", self.world.pool_items), ("people", self.world.pool_people)):
            x = getattr(s, name)
            if bool(((x < 0) | (x >= pool)).any()):
                raise ValueError(f"state field {name} holds pool indices outside 0..{pool - 1}: it is from another pool "
                                 "(another split, catalog_pool or world size)")
        state = State(**{f.name: getattr(s, f.name).to(self.device) for f in fields(State)})
        if self.config.items_change:  # the live items may be published ones; episodes start from the drawn
            self.drawn = select(self.world, *draw(self.world, self.config, state.seed))
            self.catalogue = self.drawn.with_items(state.items)
        else:
            self.catalogue = self.drawn = select(self.world, state.items, state.people)
        self._state = state

    def slate_size(self, group: str) -> int:
        """How many candidate indices an agent of ``group`` gives per step: S for users with slates, else 1."""
        return self.config.slate_size if group == "users" else 1

    @property
    def current(self) -> State:
        """The live state tensors (read them; do not write them)."""
        return self._require_state()

    def observe(self) -> dict:
        """The current observation dict (what the last reset/step returned)."""
        return self._observe(self._require_state())

    # --- internals ---------------------------------------------------------------------------------
    def _require_state(self) -> State:
        if self._state is None:
            raise RuntimeError("the env has not been reset; call reset(seed=...) first")
        return self._state

    def _observe(self, s: State) -> dict:
        c = self.config
        return {
            "users": obs_mod.user_observation(self.catalogue, c, s, s.candidates, self.layouts["users"]),
            "items": obs_mod.item_observation(self.catalogue, c, s, self.layouts["items"]),
            "action_mask": {
                "users": obs_mod.user_mask(s.present, c.num_candidates),
                "items": obs_mod.item_mask(self.catalogue, c, s),
            },
            "active": {"users": s.present.clone(), "items": torch.ones_like(s.funds, dtype=torch.bool)},
            "alive": {"users": s.alive.clone(), "items": torch.ones_like(s.funds, dtype=torch.bool)},
        }

    def _check_actions(self, actions) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(actions, dict):
            raise TypeError(f"actions must be a dict {{'users': tensor, 'items': tensor}}, got {type(actions).__name__}")
        unknown = set(actions) - set(GROUPS)
        missing = set(GROUPS) - set(actions)
        if unknown or missing:
            raise KeyError(
                f"actions must have exactly the keys {GROUPS}; unknown: {sorted(unknown)}, missing: {sorted(missing)}"
            )
        out = []
        for g in GROUPS:
            a = actions[g]
            shape = (self.num_envs, self.num_agents[g])
            slates = g == "users" and self.config.slate_size > 1
            if slates:  # an ordered slate of candidate indices per person
                shape = (*shape, self.config.slate_size)
            if not isinstance(a, torch.Tensor):
                raise TypeError(f"actions[{g!r}] must be a torch.Tensor of shape {shape}, got {type(a).__name__}")
            if a.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
                raise TypeError(
                    f"actions[{g!r}] has dtype {a.dtype}; actions are indices: use an integer dtype (torch.long)"
                )
            if tuple(a.shape) != shape:
                raise ValueError(f"actions[{g!r}] has shape {tuple(a.shape)}, expected {shape} (num_envs, agents"
                                 + (", slate_size: candidate indices, the top slot first)" if slates else ")"))
            if a.device != self.device:
                raise ValueError(f"actions[{g!r}] is on {a.device} but the env is on {self.device}; move it with .to()")
            if self.validate:
                n = self.num_actions[g]
                bad = (a < 0) | (a >= n)
                if bool(bad.any()):
                    b, j = (int(x) for x in bad.nonzero()[0][:2])
                    c = self.config
                    if slates:
                        k = int(bad[b, j].nonzero()[0])
                        raise ValueError(f"actions['users'][{b}, {j}, {k}] = {int(a[b, j, k])} is out of range: a slate "
                                         f"holds candidate indices 0..{n - 1}")
                    meaning = (f" (p * {c.num_levels} + l: publish p in 0..{c.num_drafts}, 0 keeping the live item, at "
                               f"level l in 0..{c.num_levels - 1})" if g == "items" and c.num_drafts else "")
                    raise ValueError(
                        f"actions[{g!r}][{b}, {j}] = {int(a[b, j])} is out of range: allowed 0..{n - 1}{meaning}"
                    )
                if slates:  # a person away shows nothing: their slate is ignored (their mask allows only 0)
                    here = self._require_state().present[..., None, None]
                    same = (a.unsqueeze(-1) == a.unsqueeze(-2)).triu(1) & here
                    if bool(same.any()):
                        b, j, k1, k2 = (int(x) for x in same.nonzero()[0])
                        raise ValueError(
                            f"actions['users'][{b}, {j}] shows candidate {int(a[b, j, k1])} in slots {k1} and {k2}: the slate "
                            f"of a person present holds {self.config.slate_size} distinct candidates (with validate=False "
                            "a repeat leaves its slot empty)")
            out.append(a.long())
        return out[0], out[1]


def make_vec(num_envs: int = 1, device: str | torch.device = "cpu", scenario: str = "default", validate: bool = True,
             compile: bool = False, **config) -> VecEnv:
    """A :class:`VecEnv` of ``num_envs`` worlds of ``scenario`` (with config overrides) on ``device``.

    ``validate=True`` checks action values (one host read per step); learners that build actions from
    masks can pass ``validate=False`` to keep ``step`` free of host-device synchronisation.
    ``compile=True`` compiles the step with ``torch.compile`` on CUDA and falls back to eager on CPU.
    """
    return VecEnv(make_config(scenario, **config), num_envs, device, validate, compile)

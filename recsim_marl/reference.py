"""A reference implementation of the same world, written the way RecSim-style simulators are:
one Python object per person and per item, numpy per step, a loop over people.

It exists for two reasons: it is the correctness oracle of the vectorized core (same seed and
actions give the same trajectory, to float tolerance: ``tests/test_reference.py``), and it is the
baseline that ``benchmarks/throughput.py`` measures the core against. It draws the same
counter-based random numbers as the core, one person or item at a time. One world, no auto-reset.
"""

from __future__ import annotations

import numpy as np

from recsim_marl.config import EnvConfig
from recsim_marl.models.user import TRAITS
from recsim_marl.rng import _GOLDEN, _MASK32, Purpose, mix32


def _key(seed: int, episode: int, step: int, purpose: int) -> int:
    a = lambda v: np.array([v], dtype=np.int64)  # noqa: E731 (mix32 is written for int64 arrays)
    k = mix32((a(seed) & _MASK32) ^ ((int(purpose) * _GOLDEN) & _MASK32))
    k = mix32(k ^ ((a(seed) >> 32) & _MASK32))
    k = mix32((k + (episode & _MASK32)) & _MASK32)
    return int(mix32((k + (step & _MASK32)) & _MASK32)[0])


def _hash(key: int, idx: np.ndarray) -> np.ndarray:
    x = mix32((key + idx.astype(np.int64) * _GOLDEN) & _MASK32)
    return mix32(x ^ key)


def _uniform(key: int, idx) -> np.ndarray:
    x = _hash(key, np.asarray(idx))
    return (((x >> 8).astype(np.float32) + np.float32(0.5)) * np.float32(1.0 / 16777216.0)).astype(np.float32)


def _bits16(key: int, idx) -> np.ndarray:
    return _hash(key, np.asarray(idx)) >> 16


def _normal(key: int, n: int, idx) -> np.ndarray:
    """Elements ``idx`` of the core's ``rng.normal(key, (n,))`` (Box-Muller pairs in two halves)."""
    idx = np.asarray(idx)
    half = (n + 1) // 2
    pair = np.where(idx < half, idx, idx - half)
    x = _hash(key, pair)
    u1 = ((x >> 16).astype(np.float32) + np.float32(0.5)) * np.float32(1.0 / 65536.0)
    u2 = ((x & 0xFFFF).astype(np.float32) + np.float32(0.5)) * np.float32(1.0 / 65536.0)
    r = np.sqrt(np.float32(-2.0) * np.log(u1))
    theta = np.float32(2.0 * np.pi) * u2
    return np.where(idx < half, r * np.cos(theta), r * np.sin(theta)).astype(np.float32)


def _sigmoid(x):
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))


def _normalize(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


class Person:
    """One simulated person: hidden interest, boredom, trust and traits; the platform's estimate and history."""

    def __init__(self, interest, estimate, profile, traits: dict, d: int):
        self.interest = interest
        self.estimate = estimate
        self.profile = profile.astype(np.float32)  # what they also watch off the platform
        self.traits = traits
        self.boredom = np.zeros(d, np.float32)
        self.history = np.zeros(d, np.float32)
        self.budget = np.float32(traits["budget"])
        self.trust = np.float32(1.0)
        self.memory = np.float32(0.0)
        self.click_rate = np.float32(0.0)
        self.watch_rate = np.float32(0.0)  # the platform's log of the share of each recommendation watched
        self.visit_time = np.float32(0.0)  # steps into the current visit
        self.away = np.float32(0.0)  # steps since the last visit ended (0 while present)
        self.visits = np.float32(1.0)  # visits started (everyone is visiting at t = 0)
        self.alive = True  # in the episode
        self.present = True  # in a visit now
        self.candidates = np.zeros(0, np.int64)

    def attraction(self, item, c: EnvConfig):
        """P(click) on ``item`` shown alone, and the person's affinity for it now."""
        f, tr, one = np.float32, self.traits, np.float32(1.0)
        e = item.content
        aff = f(self.interest @ e) - tr["boredom_weight"] * f(self.boredom @ e)
        shown = f(item.level) / f(c.num_levels - 1)  # the level bought last step
        sponsored = shown * (f(c.click_promotion) * self.trust - f(c.click_distrust) * (one - self.trust))
        return _sigmoid(tr["click_bias"] + f(c.click_temperature) * aff + tr["appeal_weight"] * item.appeal + sponsored), aff

    def respond(self, item, c: EnvConfig, draw: float, draw_q: float):
        """Click, satisfaction and engagement for a recommended ``item``; updates this person."""
        p_click, aff = self.attraction(item, c)
        return self.consume(item, aff, np.float32(1.0 if draw < p_click else 0.0), c, draw_q)

    def respond_slate(self, slate: list, c: EnvConfig, draw: float, draw_q: float, look: np.ndarray):
        """The person looks down ``slate`` (items, None for an empty slot) and chooses one item or none
        (``c.choice_model``); ``look``: the uniforms of the position-based model's looks. Returns the slot
        chosen (``len(slate)``: none), its click, engagement and watched share."""
        f, one, n = np.float32, np.float32(1.0), len(slate)
        theta = f(c.position_bias)
        attr = [self.attraction(it, c) if it is not None else (f(0.0), f(0.0)) for it in slate]
        looked = [it is not None and (c.choice_model != "pbm" or look[k] < theta**k) for k, it in enumerate(slate)]
        x = [attr[k][0] * f(looked[k]) for k in range(n)]
        if c.choice_model == "mnl":
            w = [x[k] * theta**k / max(one - attr[k][0], f(1e-6)) for k in range(n)]
            total = f(1.0)
            for v in w:
                total = f(total + v)
            p = [f(v / total) for v in w]
        else:  # down the slate: the first looked-at item that appeals
            p, survive = [], one
            for v in x:
                p.append(f(v * survive))
                survive = f(survive * (one - v))
        chosen, cum = n, f(0.0)
        for k in range(n):
            cum = f(cum + p[k])
            if draw < cum:
                chosen = k
                break
        if c.choice_model != "mnl":  # looking stops at the item chosen
            looked = [lk and k <= chosen for k, lk in enumerate(looked)]
        k = chosen if chosen < n else 0
        seen = f(c.boredom_exposure) * sum((slate[j].content for j in range(n) if looked[j]), np.zeros_like(self.boredom))
        looks = f(max(sum(looked) - 1, 0))
        out = self.consume(slate[k], attr[k][1], f(chosen < n), c, draw_q, seen=seen, looks=looks)
        return (chosen, *out)

    def consume(self, item, aff, click, c: EnvConfig, draw_q: float, seen=None, looks=None):
        """Satisfaction and engagement of ``click`` on ``item``; updates this person. ``seen``: a slate's
        exposure (the items looked at, weighted) in place of one item's; ``looks``: further items looked at."""
        f, tr, one = np.float32, self.traits, np.float32(1.0)
        e = item.content
        shown = f(item.level) / f(c.num_levels - 1)
        q = _sigmoid(f(c.satisfaction_temperature) * aff + f(c.satisfaction_quality) * item.quality + f(c.satisfaction_bias))
        sat = f(1.0 if draw_q < q else 0.0) * click
        engagement = click * item.length * (sat + f(c.disappointed_dwell) * (one - sat))
        step = f(c.drift_rate) * click * (f(2.0) * sat - one)
        self.interest = _normalize(self.interest + step * (e - self.interest))
        self.estimate = _normalize(f(1 - c.estimate_rate) * self.estimate + f(c.estimate_rate) * click * e)
        rho = tr["boredom_rate"]
        if seen is None:
            seen = (f(c.boredom_exposure) + (one - f(c.boredom_exposure)) * click) * e
        else:
            seen = seen + (one - f(c.boredom_exposure)) * click * e
        self.boredom = (one - rho) * self.boredom + rho * (seen + f(c.boredom_elsewhere) * self.profile)
        self.history = f(1 - c.history_rate) * self.history + f(c.history_rate) * click * e
        self.budget = self.budget - one + f(c.budget_gain) * tr["sensitivity"] * click * (f(2.0) * sat - one)
        if looks is not None:
            self.budget = self.budget - f(c.look_cost) * looks
        self.trust = f(min(max(self.trust + f(c.trust_recovery) * (one - self.trust)
                               - f(c.trust_loss) * shown * click * (one - sat), 0.0), 1.0))
        mu = f(c.memory_rate)
        self.memory = self.memory + mu * (tr["sensitivity"] * click * (f(2.0) * sat - one) - self.memory)
        hr = f(c.history_rate)
        self.click_rate = (one - hr) * self.click_rate + hr * click
        watched = f(min(max(engagement / max(item.length, f(1e-6)), 0.0), 1.0))
        self.watch_rate = (one - hr) * self.watch_rate + hr * watched
        self.present = bool(self.budget > 0)
        self.visit_time = self.visit_time + one if self.present else f(0.0)
        self.away = f(0.0) if self.present else self.away + one
        if not self.present and c.return_rate == 0:  # the end of a visit is final
            self.alive = False
        return click, engagement, watched

    def stay_away(self, c: EnvConfig, draw: float) -> bool:
        """One step away: boredom fades, trust recovers, and the person may come back. True if they do."""
        f, tr, one = np.float32, self.traits, np.float32(1.0)
        hazard = tr["return_rate"] * np.exp(f(c.return_satisfaction) * self.memory + f(c.return_trust) * (self.trust - one))
        p_back = one - np.exp(-f(hazard))
        rho = tr["boredom_rate"]
        self.boredom = (one - rho) * self.boredom + rho * (f(c.boredom_elsewhere) * self.profile)
        self.trust = f(min(max(self.trust + f(c.trust_recovery) * (one - self.trust), 0.0), 1.0))
        if draw < p_back:
            self.present = True
            self.budget = np.float32(tr["budget"])
            self.away, self.visits = f(0.0), self.visits + one
            return True
        self.away = self.away + one
        return False


def _traits(c: EnvConfig, normal: np.ndarray, activity: float = 1.0) -> dict:
    """The default user model's traits from standard normals, written out (``UserModel.sample_traits``)."""
    f, s = np.float32, np.float32(c.trait_spread)
    n = normal.astype(np.float32)
    return {
        "click_bias": f(c.click_bias) + f(c.click_bias_spread) * n[0],
        "appeal_weight": f(c.click_appeal) * np.exp(s * n[1]),
        "boredom_rate": f(min(max(f(c.boredom_rate) * np.exp(s * n[2]), 0.0), 1.0)),
        "boredom_weight": f(c.boredom_weight) * np.exp(s * n[3]),
        "sensitivity": np.exp(s * n[4]),
        "budget": f(c.initial_budget) * np.exp(s * n[5]),
        "return_rate": f(c.return_rate) * f(activity) * np.exp(f(c.return_rate_spread) * n[6]),
    }


class Item:
    """One item and its provider."""

    def __init__(self, content, quality, length, rating, funds, appeal=0.0):
        self.content, self.quality, self.length = content, np.float32(quality), np.float32(length)
        self.appeal = np.float32(appeal)
        self.rating, self.funds = np.float32(rating), np.float32(funds)
        self.level = 0
        self.age = np.float32(0.0)  # steps since it was published
        self.impressions = self.clicks = np.float32(0.0)
        self.impression_ma = self.click_ma = self.completion_ma = np.float32(0.0)

    def replace(self, content, quality, length, appeal, rating) -> None:
        """A new item in this slot (published, or a newcomer's): no history on the platform yet."""
        self.content, self.quality, self.length = content, np.float32(quality), np.float32(length)
        self.appeal, self.rating, self.age = np.float32(appeal), np.float32(rating), np.float32(0.0)
        self.impressions = self.clicks = np.float32(0.0)
        self.impression_ma = self.click_ma = self.completion_ma = np.float32(0.0)


def draw_catalogue(config: EnvConfig, pool_items: int, pool_people: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A world's items and people (pool indices), drawn as the core draws them, written out with numpy:
    the ``n`` pool entries whose (32-bit hash, index) pairs are smallest, in that order; the whole pool
    in order when it is the world's size; ``config.catalog_seed`` in place of the seed when set."""
    seed = seed if config.catalog_seed is None else config.catalog_seed
    out = []
    for n, pool, purpose in ((config.num_items, pool_items, Purpose.CATALOGUE_ITEMS),
                             (config.num_users, pool_people, Purpose.CATALOGUE_PEOPLE)):
        if n == pool:
            out.append(np.arange(n))
            continue
        h = _hash(_key(seed, 0, 0, purpose), np.arange(pool))
        out.append(np.lexsort((np.arange(pool), h))[:n])  # by hash, then by index
    return out[0], out[1]


class ReferenceSim:
    """One world: ``people`` and ``items`` lists; ``step(user_actions, item_actions)``."""

    def __init__(self, config: EnvConfig, content: np.ndarray, profile: np.ndarray, quality: np.ndarray,
                 length: np.ndarray, seed: int, episode: int = 0, appeal: np.ndarray | None = None,
                 activity: np.ndarray | None = None, pool: dict | None = None):
        c = self.c = config
        if c.items_change and pool is None:
            raise ValueError("creators publish and enter with items of the pool: pass pool={'content', 'quality', "
                             "'appeal', 'length'} (ReferenceSim.from_world does)")
        self.pool = pool
        if c.user_model != "default":
            raise ValueError(f"the reference implements DESIGN's user model only, not user_model={c.user_model!r}")
        self.content = content.astype(np.float32)
        self.seed, self.episode, self.t = seed, episode, 0
        u, i, d = c.num_users, c.num_items, c.embed_dim
        k_int = _key(seed, episode, 0, Purpose.INTEREST_NOISE)
        k_rat = _key(seed, episode, 0, Purpose.RATING_NOISE)
        k_tr = _key(seed, episode, 0, Purpose.TRAITS)
        nt = len(TRAITS)
        self.people = []
        for p in range(u):
            noise = _normal(k_int, u * d, np.arange(p * d, (p + 1) * d))
            interest = _normalize(profile[p] + np.float32(c.interest_noise / d**0.5) * noise)
            traits = _traits(c, _normal(k_tr, u * nt, np.arange(p * nt, (p + 1) * nt)),
                             1.0 if activity is None else activity[p])
            self.people.append(Person(interest, profile[p].astype(np.float32).copy(), profile[p], traits, d))
        ratings = quality.astype(np.float32) + np.float32(c.rating_noise) * _normal(k_rat, i, np.arange(i))
        appeal = np.zeros(i, np.float32) if appeal is None else appeal
        self.items = [Item(self.content[j], quality[j], length[j], ratings[j], c.initial_funds, appeal[j])
                      for j in range(i)]
        self.retrieve()

    @classmethod
    def from_world(cls, config: EnvConfig, world, seed: int, episode: int = 0) -> ReferenceSim:
        """The world of env seed ``seed`` on ``world`` (a :class:`recsim_marl.core.world.World`: its pool),
        with the catalogue :func:`draw_catalogue` picks."""
        items, people = draw_catalogue(config, world.pool_items, world.pool_people, seed)
        a = lambda x, ix: x.cpu().numpy()[ix]  # noqa: E731
        pool = {k: getattr(world, k).cpu().numpy() for k in ("content", "quality", "appeal", "length")}
        return cls(config, a(world.content, items), a(world.profile, people), a(world.quality, items),
                   a(world.length, items), seed, episode, appeal=a(world.appeal, items),
                   activity=a(world.activity, people), pool=pool)

    def retrieve(self) -> None:
        c = self.c
        xu = _bits16(_key(self.seed, self.episode, self.t, Purpose.RETRIEVAL_USER), np.arange(c.num_users))
        yi = _bits16(_key(self.seed, self.episode, self.t, Purpose.RETRIEVAL_ITEM), np.arange(c.num_items))
        bonus = np.float32(c.promotion_boost) * np.array([it.level for it in self.items], np.float32) / np.float32(c.num_levels - 1)
        if c.items_change and c.new_item_boost > 0:  # the new-item bonus, fading over new_item_steps
            age = np.array([it.age for it in self.items], np.float32)
            bonus = bonus + np.float32(c.new_item_boost) * np.maximum(np.float32(1.0) - age / np.float32(c.new_item_steps),
                                                                      np.float32(0.0))
        for u, person in enumerate(self.people):
            scores = self.content @ person.estimate + bonus
            if c.retrieval_noise > 0:  # Gumbel quantile number (x_u + y_i) mod 2**16
                q = ((xu[u] + yi) & 0xFFFF).astype(np.float64)
                scores = scores + (c.retrieval_noise * -np.log(-np.log((q + 0.5) / 65536.0))).astype(np.float32)
            person.candidates = np.argsort(-scores, kind="stable")[: c.num_candidates]

    def step(self, user_actions, item_actions):
        """Returns (user rewards [U], item rewards [I], terminated people [U], clicked [U])."""
        c = self.c
        draws = _uniform(_key(self.seed, self.episode, self.t, Purpose.CLICK), np.arange(c.num_users))
        draws_q = _uniform(_key(self.seed, self.episode, self.t, Purpose.SATISFACTION), np.arange(c.num_users))
        draws_r = _uniform(_key(self.seed, self.episode, self.t, Purpose.RETURN), np.arange(c.num_users))
        draws_ad = _uniform(_key(self.seed, self.episode, self.t, Purpose.AD), np.arange(c.num_users))
        self.sponsored = np.zeros(c.num_users, bool)
        bills = np.zeros(c.num_items, np.float32)  # second prices of the clicked ads, per item
        user_r = np.zeros(c.num_users, np.float32)
        clicked = np.zeros(c.num_users, bool)
        terminated = np.zeros(c.num_users, bool)
        was_present = np.array([p.present for p in self.people])
        clicks = np.zeros(c.num_items, np.float32)
        watched = np.zeros(c.num_items, np.float32)  # shares watched, summed per item
        impressions = np.zeros(c.num_items, np.float32)
        key = lambda purpose: _key(self.seed, self.episode, self.t, purpose)  # noqa: E731
        for u, person in enumerate(self.people):
            if not person.alive:
                person.away = person.away + np.float32(1.0)  # counted on after they left for good
                continue
            if not person.present:
                if person.stay_away(c, draws_r[u]):
                    user_r[u] = np.float32(c.return_reward)
                    was_present[u] = True  # counted among the agents that earned this step (team mixing)
                continue
            if c.slate_size > 1:  # a slate: a candidate already shown higher up leaves its slot empty
                slots = [int(k) for k in user_actions[u]]
                slate = [int(person.candidates[k]) if k not in slots[:j] else None for j, k in enumerate(slots)]
                look = _uniform(key(Purpose.LOOK), u * c.slate_size + np.arange(c.slate_size))
                chosen, click, w, share = person.respond_slate([self.items[r] if r is not None else None for r in slate],
                                                               c, draws[u], draws_q[u], look)
                r = slate[chosen] if chosen < len(slate) else slate[0]
                for j in slate:
                    if j is not None:
                        impressions[j] += 1
                watched[r] += share
                user_r[u] = w if c.user_reward == "engagement" else click
                clicked[u] = bool(click)
                clicks[r] += click
                terminated[u] = not person.alive
                continue
            r = int(person.candidates[user_actions[u]])
            if c.ad_load > 0 and draws_ad[u] < np.float32(c.ad_load):  # the feed's sponsored slot
                levels = [self.items[j].level for j in person.candidates]
                if max(levels) > 0:  # the highest level wins, the earliest retrieved among equals
                    w = levels.index(max(levels))
                    r, self.sponsored[u] = int(person.candidates[w]), True
                    second = max([lv for j, lv in enumerate(levels) if j != w] + [1])  # at least the reserve
            click, w, share = person.respond(self.items[r], c, draws[u], draws_q[u])
            watched[r] += share
            user_r[u] = w if c.user_reward == "engagement" else click
            clicked[u] = bool(click)
            if self.sponsored[u] and click:
                bills[r] += np.float32(c.ad_price) * np.float32(second) / np.float32(c.num_levels - 1)
            clicks[r] += click
            impressions[r] += 1
            terminated[u] = not person.alive
        per_level = c.promotion_cost / (c.num_levels - 1)

        def top_level(funds) -> int:
            return c.num_levels - 1 if per_level == 0 else int(min(max(np.floor(funds / np.float32(per_level) + 1e-6), 0), c.num_levels - 1))

        item_r = np.zeros(c.num_items, np.float32)
        m, f = c.num_drafts, np.float32
        key = lambda purpose: _key(self.seed, self.episode, self.t, purpose)  # noqa: E731
        for j, item in enumerate(self.items):
            draft = None
            if m:  # action p * L + l: publish draft p (0 keeps the item) at level l
                a = min(max(int(item_actions[j]), 0), (m + 1) * c.num_levels - 1)
                p, level = a // c.num_levels, a % c.num_levels
                cost = f(0.0)
                if p:
                    d = int(_hash(key(Purpose.DRAFTS), np.array([j * m + p - 1]))[0] % len(self.pool["quality"]))
                    q, ap = self.pool["quality"][d], self.pool["appeal"][d]
                    cost = f(c.quality_cost) * max(q, f(0.0)) ** 2 + f(c.appeal_cost) * max(ap, f(0.0)) ** 2
                    rating = q + f(c.rating_noise) * _normal(key(Purpose.DRAFT_RATING), c.num_items * m, [j * m + p - 1])[0]
                    passes = c.quality_gate is None or rating >= f(c.quality_gate)  # the platform's review
                    if cost <= item.funds and passes:  # a draft the funds cannot pay for is not published
                        draft = (d, rating)
                    else:
                        cost = f(0.0)
                item.level = min(level, top_level(item.funds - cost))
            else:
                item.level = min(int(item_actions[j]), top_level(item.funds))
                cost = None
            spend = np.float32(c.promotion_cost) * np.float32(item.level) / np.float32(c.num_levels - 1)
            if cost is not None:  # what the creator pays this step: promotion, production, upkeep
                outlay = spend + cost + f(c.upkeep)
            else:
                outlay = spend + f(c.upkeep) if c.upkeep else spend
            item.funds = item.funds - outlay + np.float32(c.click_value) * clicks[j]
            if c.ad_load > 0:  # clicked ads pay their second prices, billed up to the funds left
                bill = min(bills[j], max(item.funds, np.float32(0.0)))  # upkeep may have left it below 0
                item.funds, outlay = item.funds - bill, outlay + bill
            item_r[j] = np.float32(c.click_value) * clicks[j] - outlay
            rp = np.float32(c.popularity_rate)
            item.impressions, item.clicks = impressions[j], clicks[j]
            item.impression_ma = (1 - rp) * item.impression_ma + rp * impressions[j]
            item.click_ma = (1 - rp) * item.click_ma + rp * clicks[j]
            item.completion_ma = (1 - rp) * item.completion_ma + rp * watched[j]
            item.age = item.age + f(1.0)
            if c.items_change and item.funds < 0:  # the creator leaves; a newcomer takes the slot
                d = int(_hash(key(Purpose.ENTRANTS), np.array([j]))[0] % len(self.pool["quality"]))
                draft = (d, self.pool["quality"][d] + f(c.rating_noise) * _normal(key(Purpose.ENTRANT_RATING), c.num_items, [j])[0])
                item.funds, item.level = f(c.initial_funds), 0
            if draft is not None:
                d, rating = draft
                item.replace(self.pool["content"][d], self.pool["quality"][d], self.pool["length"][d],
                             self.pool["appeal"][d], rating)
                self.content[j] = item.content
        if c.team_mixing:  # mean over the people present at the start of the step, and over all items
            mean_u = user_r[was_present].mean() if was_present.any() else 0.0
            user_r = ((1 - c.team_mixing) * user_r + c.team_mixing * mean_u) * was_present
            item_r = (1 - c.team_mixing) * item_r + c.team_mixing * item_r.mean()
        self.t += 1
        self.retrieve()
        return user_r, item_r, terminated, clicked

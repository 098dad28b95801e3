"""Config validation: unknown keys and invalid values are errors that say what is allowed."""

import dataclasses

import pytest

import recsim_marl
from recsim_marl.config import EnvConfig, make_config


def test_unknown_key_names_the_key_and_suggests():
    with pytest.raises(TypeError, match="unknown config key 'num_user'.*Did you mean 'num_users'"):
        recsim_marl.parallel_env(num_user=10)
    with pytest.raises(TypeError, match="unknown config key 'colour'"):
        recsim_marl.make_vec(num_envs=1, colour="red")
    with pytest.raises(TypeError, match="unknown config key"):
        make_config("tiny").replace(bogus=1)


def test_unknown_scenario():
    with pytest.raises(ValueError, match="unknown scenario 'boredum'.*Did you mean 'boredom'"):
        recsim_marl.parallel_env(scenario="boredum")


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(num_users=0), "num_users=0 is invalid: must be >= 1"),
        (dict(num_items=-3), "num_items=-3"),
        (dict(num_users=2.5), "num_users=2.5"),
        (dict(num_candidates=20), "num_candidates=20 is invalid: must be <= num_items \\(12\\)"),
        (dict(num_levels=1), "num_levels=1"),
        (dict(estimate_rate=1.5), "estimate_rate=1.5 is invalid: must be in \\[0, 1\\] \\(a rate\\)"),
        (dict(boredom_rate=-0.1), "boredom_rate"),
        (dict(team_mixing=2.0), "team_mixing"),
        (dict(disappointed_dwell=1.5), "disappointed_dwell=1.5 is invalid"),
        (dict(trust_loss=-0.1), "trust_loss=-0.1 is invalid"),
        (dict(trust_recovery=2.0), "trust_recovery=2.0 is invalid"),
        (dict(boredom_exposure=-1.0), "boredom_exposure=-1.0 is invalid"),
        (dict(boredom_elsewhere=float("nan")), "boredom_elsewhere=nan is invalid: must be a finite number"),
        (dict(trait_spread=-0.5), "trait_spread=-0.5 is invalid: must be in \\[0, 2\\]"),
        (dict(trait_spread=3.0), "trait_spread=3.0 is invalid"),
        (dict(click_bias_spread=-1.0), "click_bias_spread=-1.0 is invalid"),
        (dict(click_appeal=float("inf")), "click_appeal=inf is invalid: must be a finite number"),
        (dict(click_distrust=-2.0), "click_distrust=-2.0 is invalid"),
        (dict(appeal_quality_correlation=1.5), "appeal_quality_correlation=1.5 is invalid: must be in \\[-1, 1\\] \\(a correlation"),
        (dict(satisfaction_bias=float("nan")), "satisfaction_bias=nan is invalid"),
        (dict(return_rate=-0.1), "return_rate=-0.1 is invalid"),
        (dict(return_rate=1.5), "return_rate=1.5 is invalid"),
        (dict(memory_rate=2.0), "memory_rate=2.0 is invalid"),
        (dict(return_rate_spread=5.0), "return_rate_spread=5.0 is invalid"),
        (dict(return_satisfaction=-1.0), "return_satisfaction=-1.0 is invalid"),
        (dict(return_trust=float("nan")), "return_trust=nan is invalid"),
        (dict(return_reward=-1.0), "return_reward=-1.0 is invalid"),
        (dict(return_reward=1.0), "return_reward=1.0 has no effect with return_rate=0"),
        (dict(click_bias_spread=50.0), "click_bias_spread=50.0 is invalid"),
        (dict(click_temperature=float("nan")), "click_temperature=nan is invalid: must be a finite number"),
        (dict(initial_budget=0.0), "initial_budget=0.0"),
        (dict(promotion_cost=-1.0), "promotion_cost"),
        (dict(user_reward="dwell"), "user_reward='dwell' is invalid: must be one of"),
        (dict(catalog="netflix"), "catalog='netflix'"),
        (dict(pooling="max"), "pooling='max'"),
        (dict(catalog="custom"), "needs item_texts and user_texts"),
        (dict(item_texts=["a"] * 12, user_texts=["b"] * 4), "only used with catalog='custom'"),
    ],
)
def test_invalid_values(kw, match):
    with pytest.raises(ValueError, match=match):
        make_config("tiny", **kw)


def test_config_is_frozen_and_overrides_apply():
    c = make_config("tiny", num_users=6)
    assert (c.num_users, c.num_items, c.scenario) == (6, 12, "tiny")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.num_users = 3
    assert isinstance(c, EnvConfig)


def test_every_scenario_is_a_valid_config():
    for name in recsim_marl.SCENARIOS:
        assert make_config(name).scenario == name


def test_custom_texts_build_a_world():
    items = [f"A {g} film about {t}." for g in ("horror", "comedy", "documentary") for t in ("cats", "ships", "war", "love")]
    users = ["Loves scary movies.", "Only watches funny films.", "A history buff who likes war documentaries."]
    env = recsim_marl.parallel_env(catalog="custom", item_texts=items, user_texts=users,
                                   num_items=12, num_users=3, num_candidates=4, embed_dim=8)
    obs, _ = env.reset(seed=0)
    assert len(obs) == 15
    with pytest.raises(ValueError, match="item_texts has 12 texts but num_items=10"):
        recsim_marl.parallel_env(catalog="custom", item_texts=items, user_texts=users, num_items=10, num_users=3)


def test_every_declared_range_is_enforced_naming_the_field():
    """Each field's range is declared beside it (``bounded``); a value outside it is refused by name."""
    import dataclasses

    from recsim_marl.config import EnvConfig

    bounded = [f for f in dataclasses.fields(EnvConfig) if "check" in f.metadata]
    assert len(bounded) >= 40
    for f in bounded:
        bad = "no-such-choice" if f.metadata["check"].choices else -1e9
        with pytest.raises(ValueError, match=f"config field {f.name}=.* is invalid: must be "):
            make_config("tiny", **{f.name: bad})

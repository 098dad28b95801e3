"""The user model is one swappable object (DESIGN §2: models passed in whole, named in a registry)."""

import pytest
import torch

import recsim_marl
from recsim_marl import USER_MODELS, UserModel


class AlwaysClick(UserModel):
    """Everyone clicks whatever they are shown, and a click never changes their interest."""

    def click_probability(self, c, tr, aff, appeal, shown, trust):
        return torch.ones_like(aff)

    def drift_interest(self, c, tr, interest, content, click, satisfied):
        return interest


def _run(venv, steps=5):
    obs = venv.reset(seed=0)
    clicked, interest0 = [], venv.current.interest.clone()
    for _ in range(steps):
        alive = venv.current.alive
        acts = {"users": torch.zeros(venv.num_envs, venv.config.num_users, dtype=torch.long),
                "items": torch.zeros(venv.num_envs, venv.config.num_items, dtype=torch.long)}
        obs, rew, term, trunc, info = venv.step(acts)
        clicked.append((info["clicked"], alive))
    return clicked, interest0


def test_a_user_model_passed_whole_is_the_one_that_runs():
    venv = recsim_marl.make_vec(num_envs=2, scenario="tiny", user_model=AlwaysClick())
    clicked, interest0 = _run(venv)
    assert all(bool((c == a).all()) for c, a in clicked)  # every present person clicked
    assert torch.equal(venv.current.interest, interest0)
    plain, _ = _run(recsim_marl.make_vec(num_envs=2, scenario="tiny"))
    assert not all(bool((c == a).all()) for c, a in plain)  # the default model does not


def test_a_registered_model_is_found_by_name(monkeypatch):
    monkeypatch.setitem(USER_MODELS, "always-click", AlwaysClick())
    env = recsim_marl.parallel_env(scenario="tiny", user_model="always-click")
    obs, infos = env.reset(seed=1)
    obs, rew, term, trunc, infos = env.step({a: 0 for a in env.agents})
    assert all(rew[a] > 0 for a in env.agents if a.startswith("user_"))


def test_the_default_model_is_the_registered_default():
    assert type(USER_MODELS["default"]) is UserModel
    a = recsim_marl.make_vec(num_envs=2, scenario="tiny")
    b = recsim_marl.make_vec(num_envs=2, scenario="tiny", user_model=UserModel())
    ca, _ = _run(a)
    cb, _ = _run(b)
    assert all(torch.equal(x[0], y[0]) for x, y in zip(ca, cb))
    assert torch.equal(a.current.budget, b.current.budget)


def test_bad_user_models_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown user_model 'defualt'\. Did you mean 'default'\?"):
        recsim_marl.make_vec(scenario="tiny", user_model="defualt")
    with pytest.raises(ValueError, match="user_model"):
        recsim_marl.make_config("tiny", user_model=3)
    with pytest.raises(TypeError, match="UserModel instance"):
        recsim_marl.make_vec(scenario="tiny", user_model=object())


def test_checkpoints_name_a_custom_model_by_its_class():
    from agents.checkpoint import config_dict

    d = config_dict(recsim_marl.make_config("tiny", user_model=AlwaysClick()))
    assert d["user_model"] == f"{__name__}.AlwaysClick"
    assert config_dict(recsim_marl.make_config("tiny"))["user_model"] == "default"

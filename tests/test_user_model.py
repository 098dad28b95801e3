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


class Broken(UserModel):
    """A model with one bad output, chosen per test."""

    def __init__(self, fault):
        self.fault = fault

    def click_probability(self, c, tr, aff, appeal, shown, trust):
        p = super().click_probability(c, tr, aff, appeal, shown, trust)
        if self.fault == "nan":
            return torch.full_like(p, float("nan"))
        if self.fault == "range":
            return p * 3.0 - 1.0  # in [-1, 2]
        if self.fault == "shape":
            return p.unsqueeze(-1)  # [B, U, 1]
        return p

    def update_budget(self, c, tr, budget, click, satisfied):
        out = super().update_budget(c, tr, budget, click, satisfied)
        return out * float("nan") if self.fault == "budget" else out


@pytest.mark.parametrize("fault, message", [
    ("nan", r"user model Broken\.click_probability returned 8 non-finite value\(s\)"),
    ("range", r"Broken\.click_probability returned values in \[-?[\d.e+-]+, [\d.e+-]+\], outside \[0, 1\]"),
    ("shape", r"Broken\.click_probability returned shape \[2, 4, 1\]; the core needs \[2, 4\]"),
    ("budget", r"Broken\.update_budget returned 8 non-finite value\(s\)"),
])
def test_a_custom_models_bad_outputs_are_clear_errors_and_leave_the_env_untouched(fault, message):
    """Issue 18: a NaN click probability gave zero clicks silently, probabilities in [-1, 2] were used, a
    [B, U, 1] output failed with a torch size error naming neither the model nor the method, and a NaN
    budget reached the state a critic reads."""
    venv = recsim_marl.make_vec(num_envs=2, scenario="tiny", user_model=Broken(fault))
    venv.reset(seed=0)
    before = venv.get_state().clone()
    acts = {"users": torch.zeros(2, 4, dtype=torch.long), "items": torch.zeros(2, 12, dtype=torch.long)}
    with pytest.raises(ValueError, match=message):
        venv.step(acts)
    after = venv.get_state()
    assert all(torch.equal(getattr(before, f), getattr(after, f)) for f in before.__dataclass_fields__)
    # validate=False runs the model unchecked (the user's choice, for speed)
    unchecked = recsim_marl.make_vec(num_envs=2, scenario="tiny", user_model=Broken("nan"), validate=False)
    unchecked.reset(seed=0)
    unchecked.step(acts)


def test_a_correct_custom_model_passes_its_checks_and_runs_as_unchecked():
    a = recsim_marl.make_vec(num_envs=2, scenario="tiny", user_model=Broken(None))
    b = recsim_marl.make_vec(num_envs=2, scenario="tiny", user_model=Broken(None), validate=False)
    ca, _ = _run(a)
    cb, _ = _run(b)
    assert all(torch.equal(x[0], y[0]) for x, y in zip(ca, cb))
    assert torch.equal(a.current.budget, b.current.budget)

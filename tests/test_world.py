"""The world's hidden state stays hidden, people differ, and clicks are not satisfaction (README "The world")."""

import pytest
import torch

import recsim_marl
from recsim_marl.models.user import TRAITS

SCENARIOS = [("tiny", {}), ("default", dict(num_users=16, num_items=64)), ("boredom", dict(num_users=16, num_items=64)),
             ("marketplace", dict(num_users=16, num_items=128)), ("movielens-100k", dict(num_users=40, num_items=120))]


def _greedy_run(venv, steps, seed=0):
    obs = venv.reset(seed=seed)
    lay = venv.layouts["users"]
    seen = []
    for _ in range(steps):
        seen.append((obs, venv.get_state()))
        users = lay.read(obs["users"], "candidate_relevance").argmax(-1)
        items = torch.zeros(venv.num_envs, venv.num_agents["items"], dtype=torch.long)
        obs, *_ = venv.step({"users": users, "items": items})
    return seen


def _differs(a, b):
    """True when ``a`` is not ``b`` up to float rounding, nor ``b`` rescaled (a logged copy of a hidden value)."""
    a, b = a.flatten().double(), b.flatten().double()
    if torch.allclose(a, b, atol=1e-4):
        return False
    a, b = a - a.mean(), b - b.mean()
    if a.norm() < 1e-6 or b.norm() < 1e-6:  # one is constant: not allclose already means different
        return True
    return bool(torch.nn.functional.cosine_similarity(a, b, dim=0).abs() < 0.999)


@pytest.mark.parametrize("scenario, kw", SCENARIOS)
def test_no_observation_field_equals_a_hidden_state_variable(scenario, kw):
    venv = recsim_marl.make_vec(num_envs=2, scenario=scenario, **kw)
    lay = venv.layouts["users"]
    vectors = ("estimate", "history")
    scalars = ("click_rate", "progress")
    for obs, s in _greedy_run(venv, 8)[3:]:  # after a few steps, when the logs have something in them
        o = obs["users"]
        hidden_vec = {"interest": s.interest, "boredom": s.boredom}
        hidden_one = {"trust": s.trust, "budget": s.budget, **{f"trait {n}": s.traits[..., j] for j, n in enumerate(TRAITS)}}
        for f in vectors:
            for n, h in hidden_vec.items():
                assert _differs(lay.read(o, f), h), (scenario, f, n)
        for f in scalars:
            for n, h in hidden_one.items():
                assert _differs(lay.read(o, f).squeeze(-1), h), (scenario, f, n)
        # per candidate: the rating is not the quality, the relevance is not the hidden affinity
        w = venv.world
        assert _differs(lay.read(o, "candidate_rating"), w.quality[s.candidates])
        assert _differs(lay.read(o, "candidate_relevance"), (w.content[s.candidates] * s.interest.unsqueeze(2)).sum(-1))


def test_people_differ_in_hidden_traits_drawn_per_episode():
    venv = recsim_marl.make_vec(num_envs=2, scenario="default", num_users=32, num_items=64)
    venv.reset(seed=3)
    tr = venv.current.traits  # [B, U, T]
    assert tr.shape == (2, 32, len(TRAITS))
    assert bool((tr.std(1) > 0).all())  # every trait varies across people
    assert not torch.equal(tr[0], tr[1])  # and across episodes (env seeds)
    budget = tr[..., TRAITS.index("budget")]
    assert torch.allclose(budget.log().median(), torch.tensor(20.0).log(), atol=0.5)
    same = recsim_marl.make_vec(num_envs=1, scenario="default", num_users=32, num_items=64, trait_spread=0.0,
                                click_bias_spread=0.0)
    same.reset(seed=3)
    assert bool((same.current.traits.std(1) == 0).all())


def test_appeal_draws_clicks_but_not_satisfaction():
    # two worlds identical but for the weight of appeal: a clickbait-loving population clicks more on
    # appealing items, and their clicks disappoint at least as often
    base = dict(num_users=32, num_items=128, click_appeal=0.0)
    runs = {}
    for name, kw in (("blind", base), ("lured", {**base, "click_appeal": 3.0})):
        venv = recsim_marl.make_vec(num_envs=4, scenario="default", **kw)
        clicks = appeal_of_clicked = disappointed = 0.0
        obs = venv.reset(seed=0)
        for _ in range(20):
            s = venv.current
            users = torch.zeros(4, 32, dtype=torch.long)
            obs, r, te, tr, info = venv.step({"users": users, "items": torch.zeros(4, 128, dtype=torch.long)})
            c = info["clicked"].float()
            clicks += float(c.sum())
            appeal_of_clicked += float((venv.world.appeal[info["recommended"]] * c).sum())
            disappointed += float((info["metrics"]["disappointment"] * info["metrics"]["clicks"]).sum())
        runs[name] = (appeal_of_clicked / clicks, disappointed / clicks)
    assert runs["lured"][0] > runs["blind"][0] + 0.3  # clicked items are more appealing
    assert runs["lured"][1] >= runs["blind"][1] - 0.02  # and no more satisfying


def test_sponsored_disappointments_wear_trust_and_unsponsored_ones_do_not():
    kw = dict(num_users=16, num_items=64, click_promotion=3.0, promotion_cost=0.0)
    trust = {}
    for level in (0, 3):
        venv = recsim_marl.make_vec(num_envs=2, scenario="default", **kw)
        venv.reset(seed=1)
        for _ in range(15):
            users = torch.zeros(2, 16, dtype=torch.long)
            venv.step({"users": users, "items": torch.full((2, 64), level, dtype=torch.long)})
        trust[level] = venv.current.trust
    assert torch.allclose(trust[0], torch.ones_like(trust[0]))
    assert float(trust[3].mean()) < 0.9
